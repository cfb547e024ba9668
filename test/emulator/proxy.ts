import * as http from 'http';
import type { AddressInfo } from 'net';
import type { Writable } from 'stream';
import { encodeReply, EncodedReply, identifyCall, IdentifiedCall, ScriptedReply } from './aws-protocol';
import { FunctionConfig, LambdaRuntime } from './lambda-runtime';

/** A connection of its own for each call passed to moto: a reused idle one can be reset under the call. */
const TO_MOTO = new http.Agent({ keepAlive: false });

/** One AWS API call that went through the emulator. */
export interface RecordedCall {
  /** SigV4 signing name, e.g. `ssm`, `states`, `lambda`, `codebuild`, `codepipeline`, `ec2`. */
  readonly service: string;
  /** e.g. `GetCommandInvocation`; `Invoke` for a Lambda invocation (input: FunctionName, InvocationType, Payload). */
  readonly operation: string;
  /** The request parameters (JSON APIs: the body; query APIs: the flat form fields). */
  readonly input: any;
}

/** Computes a reply from the call's input; `undefined` lets the call through to moto (or to the handler). */
export type Responder = (input: any, call: RecordedCall) => ScriptedReply | undefined;

/**
 * The endpoint every AWS call of a test goes to: the test's clients, the in-process handlers and
 * moto's Step Functions interpreter. It records each call, answers scripted operations, runs Lambda
 * invocations in-process and passes everything else to moto.
 */
export class AwsProxy {
  private readonly server: http.Server;
  private readonly scripts = new Map<string, Array<ScriptedReply | Responder>>();
  private readonly functions = new Map<string, FunctionConfig>();
  private recorded: RecordedCall[] = [];
  private readonly waiters = new Set<() => void>();
  /** Connections of calls scripted to hang, closed on reset. */
  private readonly hanging = new Set<http.ServerResponse>();

  constructor(private readonly motoUrl: () => string, private readonly runtime: LambdaRuntime, private readonly log: Writable) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch(err => {
        this.log.write(`proxy: ${req.method} ${req.url} failed: ${err?.stack ?? err}\n`);
        if (!res.headersSent) res.writeHead(502, { 'x-amzn-RequestId': 'emulator-proxy-error' });
        res.end();
      });
    });
    // Node closes an idle kept-alive connection after 5 s; a client that picks it up again in the
    // same instant (more likely on a busy machine) reads ECONNRESET. The clients close theirs first.
    this.server.keepAliveTimeout = 10 * 60_000;
  }

  public async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    return (this.server.address() as AddressInfo).port;
  }

  public async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>(resolve => this.server.close(() => resolve()));
  }

  public script(service: string, operation: string, replies: Array<ScriptedReply | Responder>): void {
    if (replies.length === 0) throw new Error(`script(${service}, ${operation}) needs at least one reply`);
    this.scripts.set(`${service}:${operation}`, [...replies]);
  }

  public registerFunction(fn: FunctionConfig): void {
    this.functions.set(fn.functionName, fn);
  }

  public calls(service?: string, operation?: string): RecordedCall[] {
    return this.recorded.filter(c => (service === undefined || c.service === service) && (operation === undefined || c.operation === operation));
  }

  /**
   * Resolves with the first `count` matching calls once that many have been recorded, counting the
   * ones recorded before the wait began: a wait never misses a call that already happened.
   */
  public async waitForCalls(
    service: string, operation: string, predicate: (call: RecordedCall) => boolean, count: number, timeoutMs: number,
  ): Promise<RecordedCall[]> {
    const find = () => this.calls(service, operation).filter(predicate);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found.length >= count) return found.slice(0, count);
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.recorded.map(c => `${c.service}:${c.operation}`).join(', ');
        throw new Error(`${found.length} of ${count} ${service}:${operation} calls within ${timeoutMs} ms; calls so far: ${seen || 'none'}`);
      }
      await new Promise<void>(resolve => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  /** Forgets scripts, recorded calls and registered functions, and closes hanging connections. */
  public reset(): void {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    this.scripts.clear();
    this.functions.clear();
    this.recorded = [];
  }

  private record(call: RecordedCall): void {
    this.recorded.push(call);
    for (const wake of [...this.waiters]) wake();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const identified = identifyCall(req.method ?? 'GET', req.url ?? '/', req.headers, body);
    if (identified.service === 'moto-api') return this.forward(req, res, body);
    const call: RecordedCall = { service: identified.service, operation: identified.operation, input: identified.input };
    this.record(call);

    const scripted = this.scriptedReply(call);
    if (scripted?.fault) return this.fault(scripted, identified, req, res, body);
    if (scripted) {
      this.log.write(`proxy: ${call.service}:${call.operation} -> scripted ${scripted.error?.code ?? scripted.status ?? 200}\n`);
      return send(res, encodeReply(identified, scripted));
    }
    if (identified.operation === 'Invoke' && identified.service === 'lambda') return this.invokeLambda(identified, res);
    this.log.write(`proxy: ${call.service}:${call.operation} -> moto\n`);
    const started = Date.now();
    // A caller that gave up first timed out on a call that was not scripted to fail: on a busy
    // machine, the sign of a request timeout too short for moto.
    res.once('close', () => {
      if (this.log.writableEnded) return;
      const gaveUp = res.writableFinished ? '' : ', after the caller had given up';
      this.log.write(`proxy: ${call.service}:${call.operation} <- moto ${res.statusCode} in ${Date.now() - started} ms${gaveUp}\n`);
    });
    return this.forward(req, res, body);
  }

  private scriptedReply(call: RecordedCall): ScriptedReply | undefined {
    const queue = this.scripts.get(`${call.service}:${call.operation}`);
    if (!queue) return undefined;
    const next = queue.length > 1 ? queue.shift()! : queue[0];
    return typeof next === 'function' ? next(call.input, call) : next;
  }

  private async fault(reply: ScriptedReply, call: IdentifiedCall, req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    this.log.write(`proxy: ${call.service}:${call.operation} -> fault ${reply.fault}\n`);
    if (reply.fault === 'hang') {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    if (reply.fault === 'applied-then-drop' && reply.body === undefined) {
      // Applied by moto; its answer is read and thrown away.
      await new Promise<void>((resolve, reject) => {
        const upstream = http.request(`${this.motoUrl()}${req.url}`, { method: req.method, headers: req.headers, agent: TO_MOTO }, upstreamRes => {
          upstreamRes.resume();
          upstreamRes.on('end', resolve);
          upstreamRes.on('error', reject);
        });
        upstream.on('error', reject);
        upstream.end(body);
      });
    }
    res.socket?.destroy();
  }

  private async invokeLambda(call: IdentifiedCall, res: http.ServerResponse): Promise<void> {
    const { FunctionName: name, InvocationType: type, Payload: event } = call.input;
    const fn = this.functions.get(name);
    if (!fn) {
      const known = [...this.functions.keys()].join(', ') || 'none';
      const message = `the emulator has no handler for Lambda function ${name} (functions with a handler: ${known})`;
      this.log.write(`proxy: lambda:Invoke ${name} -> ${message}\n`);
      return send(res, encodeReply(call, { status: 404, error: { code: 'ResourceNotFoundException', message } }));
    }
    if (type === 'Event') {
      send(res, { status: 202, headers: { 'x-amzn-RequestId': 'emulator-event' }, body: '' });
      void this.runtime.invoke(fn, event).then(outcome => this.logOutcome(name, outcome));
      return;
    }
    const outcome = await this.runtime.invoke(fn, event);
    this.logOutcome(name, outcome);
    const headers: Record<string, string> = { 'x-amzn-RequestId': `emulator-${Date.now()}`, 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' };
    if (outcome.ok) return send(res, { status: 200, headers, body: JSON.stringify(outcome.result) });
    headers['x-amz-function-error'] = 'Unhandled';
    const { errorType, errorMessage, stackTrace } = outcome;
    return send(res, { status: 200, headers, body: JSON.stringify({ errorType, errorMessage, trace: stackTrace }) });
  }

  private logOutcome(name: string, outcome: Awaited<ReturnType<LambdaRuntime['invoke']>>): void {
    this.log.write(outcome.ok
      ? `proxy: lambda:Invoke ${name} -> ok\n`
      : `proxy: lambda:Invoke ${name} -> ${outcome.errorType}: ${outcome.errorMessage}\n${(outcome.stackTrace ?? []).map(l => `    ${l}`).join('\n')}\n`);
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const upstream = http.request(`${this.motoUrl()}${req.url}`, { method: req.method, headers: req.headers, agent: TO_MOTO }, upstreamRes => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
        upstreamRes.on('end', resolve);
        upstreamRes.on('error', reject);
      });
      upstream.on('error', reject);
      upstream.end(body);
    });
  }
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', chunk => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, reply: EncodedReply): void {
  res.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) });
  res.end(reply.body);
}
