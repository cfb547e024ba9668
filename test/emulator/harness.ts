import * as fs from 'fs';
import * as path from 'path';
import { AttributeValue, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateStateMachineCommand, DescribeExecutionCommand, GetExecutionHistoryCommand, HistoryEvent, ListExecutionsCommand,
  SFNClient, StartExecutionCommand, StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { Template } from 'aws-cdk-lib/assertions';
import type { ScriptedReply } from './aws-protocol';
import { FunctionConfig, LambdaRuntime } from './lambda-runtime';
import { MotoMissingError, MotoProcess, motoUnavailableReason, START_TIMEOUT_MS } from './moto-process';
import { AwsProxy, RecordedCall, Responder } from './proxy';
import { ACCOUNT_ID, TemplateFunction, TemplateResolver } from './template-resolver';

export type { ScriptedReply } from './aws-protocol';
export type { RecordedCall, Responder } from './proxy';
export { handlerAsset } from './lambda-runtime';

/** Where the emulator writes moto's output, every proxied call and the handlers' logs. */
export const LOG_DIR = path.resolve(__dirname, '..', '..', '.moto');

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const POLL_MS = 50;
/**
 * How long a harness wait lasts before it calls the run hung. Waits look at recorded state, so a
 * slow machine only makes them take longer: the limit is there to end a real hang, not to time a run.
 */
export const HANG_LIMIT_MS = 120_000;

export interface ExecutionOptions {
  /** The execution's input. */
  readonly input: any;
  /** @default - a unique name */
  readonly name?: string;
  /**
   * The handler of each Lambda function the state machine invokes, by the function's logical id
   * (or a part of it that names one function): a bundled asset directory (`handlerAsset('x')`),
   * or a test module (`path/to/module.ts`, optionally `#exportName`).
   */
  readonly handlers?: Record<string, string>;
  /** @default HANG_LIMIT_MS */
  readonly timeoutMs?: number;
}

export interface ExecutionResult {
  readonly executionArn: string;
  /** SUCCEEDED, FAILED, TIMED_OUT or ABORTED. */
  readonly status: string;
  /** The parsed output, when it succeeded. */
  readonly output?: any;
  readonly error?: string;
  readonly cause?: string;
  /** GetExecutionHistory's events, oldest first. */
  readonly history: HistoryEvent[];
  /** The calls recorded from the start to the end of the execution (all sources). */
  readonly calls: RecordedCall[];
}

interface Started { readonly callsBefore: number }

/**
 * moto (with its Step Functions interpreter) behind a recording, scriptable proxy that runs Lambda
 * handlers in this process. See test/emulator/README.md.
 */
export class Emulator {
  /**
   * Starts the proxy and moto, and points this process's AWS SDK clients at them. With `shared`,
   * moto is the server this process's earlier emulators used (a jest worker's test files run one
   * after another), reset to a clean slate, and `stop()` leaves it to the next; otherwise it is a
   * server of its own that `stop()` ends.
   */
  public static async start(options: { shared?: boolean } = {}): Promise<Emulator> {
    fs.mkdirSync(LOG_DIR, { recursive: true });
    const logFile = path.join(LOG_DIR, `emulator-${process.pid}.log`);
    const log = fs.createWriteStream(logFile, { flags: 'a' });
    log.write(`=== emulator started ${new Date().toISOString()}\n`);
    const runtime = new LambdaRuntime(log);
    let moto: MotoProcess | undefined;
    const proxy = new AwsProxy(() => moto!.url, runtime, log);
    const port = await proxy.listen();
    const shared = options.shared ?? false;
    try {
      moto = await (shared ? MotoProcess.shared(port, logFile) : MotoProcess.start(port, logFile));
      const emulator = new Emulator(moto, shared, proxy, runtime, `http://127.0.0.1:${port}`, logFile, log);
      if (shared) await emulator.motoApi('/moto-api/reset');
      await emulator.motoApi('/moto-api/config', { stepfunctions: { execute_state_machine: true } });
      return emulator;
    } catch (err) {
      if (!shared) await moto?.stop();
      await proxy.close();
      log.end();
      if (err instanceof MotoMissingError) throw err;
      throw new Error(`${(err as Error).message}\n--- ${logFile} ---\n${tail(logFile)}`);
    }
  }

  public readonly region = REGION;
  public readonly accountId = ACCOUNT_ID;
  private readonly sfn: SFNClient;
  private readonly started = new Map<string, Started>();
  /** The state machines created in moto since the last reset. */
  private readonly machines = new Set<string>();
  private readonly savedEnv: Record<string, string | undefined> = {};
  private sequence = 0;

  private constructor(
    private readonly moto: MotoProcess,
    private readonly sharesMoto: boolean,
    private readonly proxy: AwsProxy,
    private readonly runtime: LambdaRuntime,
    /** The proxy's URL: what every AWS client of the test should use. */
    public readonly endpoint: string,
    /** moto's output, every call through the proxy and the handlers' logs. */
    public readonly logFile: string,
    private readonly log: fs.WriteStream,
  ) {
    this.setEnv({
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      AWS_MAX_ATTEMPTS: '1',
      // The handlers' request timeout (5 s in a function) would fail healthy calls to moto on a busy
      // machine, and the state machines would retry them: tests would count retries that AWS never
      // makes. The fault suites set a shorter one themselves (test/faults/request-timeout.ts).
      AWS_REQUEST_TIMEOUT_MS: process.env.AWS_REQUEST_TIMEOUT_MS ?? '15000',
      AWS_EC2_METADATA_DISABLED: 'true',
      // Node 20 is supported by the toolchain; the SDK's notice about Node 22 is noise in test output.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    // The harness's own Step Functions calls go straight to moto, so they are not recorded.
    this.sfn = new SFNClient({ endpoint: moto.url, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 });
  }

  /** The PID of the moto server. */
  public get motoPid(): number | undefined {
    return this.moto.pid;
  }

  /**
   * Scripts the answers to `service:operation` (service is the SigV4 signing name: `ssm`, `states`,
   * `codebuild`, `lambda`...). Replies are used in order; the last one repeats. A Responder computes
   * the reply from the input, or returns undefined to let the call through to moto.
   */
  public script(service: string, operation: string, ...replies: Array<ScriptedReply | Responder>): void {
    this.proxy.script(service, operation, replies);
  }

  /** Every call made through the emulator since the last reset, optionally of one service and operation. */
  public calls(service?: string, operation?: string): RecordedCall[] {
    return this.proxy.calls(service, operation);
  }

  /** Waits for a call (already made or still to come), e.g. the Lambda invocation that carries a task token. */
  public async waitForCall(
    service: string, operation: string, predicate: (call: RecordedCall) => boolean = () => true, timeoutMs = HANG_LIMIT_MS,
  ): Promise<RecordedCall> {
    const [call] = await this.proxy.waitForCalls(service, operation, predicate, 1, timeoutMs);
    return call;
  }

  /**
   * Waits until `count` matching calls have been recorded (those made before the wait count too)
   * and returns them in order: e.g. "the third backstop poll", without racing the clock.
   */
  public waitForCalls(
    service: string, operation: string, predicate: (call: RecordedCall) => boolean, count: number, timeoutMs = HANG_LIMIT_MS,
  ): Promise<RecordedCall[]> {
    return this.proxy.waitForCalls(service, operation, predicate, count, timeoutMs);
  }

  /**
   * Resolves once the item under `key` exists and satisfies `predicate` (read straight from moto,
   * so the reads are not recorded): the proxy records a call when it is sent, and a test that acts
   * on what the call wrote must wait until it is stored.
   */
  public async waitForItem(
    tableName: string, key: Record<string, AttributeValue>,
    predicate: (item: Record<string, AttributeValue>) => boolean = () => true, timeoutMs = HANG_LIMIT_MS,
  ): Promise<Record<string, AttributeValue>> {
    const table = new DynamoDBClient({ endpoint: this.moto.url, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 });
    try {
      for (const started = Date.now(); Date.now() - started < timeoutMs; await sleep(POLL_MS)) {
        const { Item } = await table.send(new GetItemCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
        if (Item && predicate(Item)) return Item;
      }
    } finally {
      table.destroy();
    }
    throw new Error(`no matching item ${JSON.stringify(key)} in ${tableName} within ${timeoutMs} ms`);
  }

  /** This emulator's log so far, once every line written to it (handler output included) has reached the file. */
  public async readLog(): Promise<string> {
    await new Promise<void>((resolve, reject) => this.log.write('', err => (err ? reject(err) : resolve())));
    return fs.readFileSync(this.logFile, 'utf8');
  }

  /** An AWS SDK v3 client that talks to the emulator (its calls are recorded and can be scripted). */
  public client<T>(ctor: new (config: any) => T, config: Record<string, any> = {}): T {
    return new ctor({ endpoint: this.endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 1, ...config });
  }

  /**
   * Runs a handler in this process as Lambda would (JSON in and out; a thrown error rejects with an
   * Error of the same name and message). `handler`: a bundled asset directory or a test module.
   */
  public async invokeHandler(
    handler: string, event: any, context: Record<string, any> = {}, environment: Record<string, string> = {},
  ): Promise<any> {
    const functionName = context.functionName ?? path.basename(path.dirname(path.resolve(handler.split('#')[0])));
    const outcome = await this.runtime.invoke({ functionName, handler, environment }, event, context);
    if (outcome.ok) return outcome.result;
    throw Object.assign(new Error(outcome.errorMessage), { name: outcome.errorType });
  }

  /** Creates the template's state machine in moto, runs one execution and waits for its end. */
  public async runStateMachine(template: Template | object, stateMachineLogicalId: string, options: ExecutionOptions): Promise<ExecutionResult> {
    const { executionArn } = await this.startExecution(template, stateMachineLogicalId, options);
    return this.waitForExecution(executionArn, options.timeoutMs);
  }

  /** Like runStateMachine, but returns once the execution started (for tests that act while it runs). */
  public async startExecution(
    template: Template | object, stateMachineLogicalId: string, options: ExecutionOptions,
  ): Promise<{ executionArn: string }> {
    const { stateMachineArn } = await this.createStateMachine(template, stateMachineLogicalId, options);
    const callsBefore = this.proxy.calls().length;
    const { executionArn } = await this.sfn.send(new StartExecutionCommand({
      stateMachineArn,
      name: options.name ?? `execution-${this.sequence}`,
      input: JSON.stringify(options.input ?? {}),
    }));
    this.started.set(executionArn!, { callsBefore });
    return { executionArn: executionArn! };
  }

  /**
   * Creates the template's state machine in moto, with the handlers its tasks invoke, for code under
   * test to start (e.g. a pipeline action's handler). `waitForExecution` then takes its executions.
   */
  public async createStateMachine(
    template: Template | object, stateMachineLogicalId: string, options: Pick<ExecutionOptions, 'handlers'>,
  ): Promise<{ stateMachineArn: string }> {
    const json = typeof (template as Template).toJSON === 'function' ? (template as Template).toJSON() : template;
    const resolver = new TemplateResolver(json, REGION);
    const machine = resolver.stateMachine(stateMachineLogicalId);
    this.registerHandlers(machine.definition, machine.functions, options.handlers ?? {});
    const created = await this.sfn.send(new CreateStateMachineCommand({
      name: `${stateMachineLogicalId.slice(0, 70)}-${++this.sequence}`,
      definition: machine.definition,
      roleArn: `arn:aws:iam::${ACCOUNT_ID}:role/EmulatorStateMachineRole`,
    }));
    this.machines.add(created.stateMachineArn!);
    return { stateMachineArn: created.stateMachineArn! };
  }

  /** Waits until an execution ends (stopping it and failing after `timeoutMs`). */
  public async waitForExecution(executionArn: string, timeoutMs = HANG_LIMIT_MS): Promise<ExecutionResult> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const execution = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (execution.status !== 'RUNNING') {
        const history = await this.history(executionArn);
        const callsBefore = this.started.get(executionArn)?.callsBefore ?? 0;
        this.started.delete(executionArn);
        const details = endDetails(history);
        return {
          executionArn,
          status: execution.status!,
          output: execution.output !== undefined ? JSON.parse(execution.output) : undefined,
          error: execution.error ?? details?.error,
          cause: execution.cause ?? details?.cause,
          history,
          calls: this.proxy.calls().slice(callsBefore),
        };
      }
      if (Date.now() > deadline) {
        await this.stopExecution(executionArn);
        const last = (await this.history(executionArn)).slice(-5).map(e => e.type).join(', ');
        throw new Error(`execution ${executionArn} did not end within ${timeoutMs} ms (stopped it); last events: ${last}`);
      }
      await sleep(POLL_MS);
    }
  }

  /**
   * Back to a clean slate: stops the executions still running, resets moto's state, forgets
   * scripts, recorded calls and handler mappings, and makes the next invocation of each handler a
   * cold start.
   */
  public async reset(): Promise<void> {
    // Also the executions that code under test started on the harness's state machines.
    const running = await Promise.all([...this.machines].map(async stateMachineArn =>
      (await this.sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING' }))).executions?.map(e => e.executionArn!) ?? []));
    await Promise.all([...new Set([...this.started.keys(), ...running.flat()])].map(arn => this.stopExecution(arn)));
    this.started.clear();
    this.machines.clear();
    await this.motoApi('/moto-api/reset');
    this.proxy.reset();
    this.runtime.coldStart();
  }

  /**
   * Stops the proxy, and moto by its PID (a shared moto is reset instead, for the next emulator),
   * and restores the environment variables it set.
   */
  public async stop(): Promise<void> {
    if (this.sharesMoto) await this.reset();
    this.sfn.destroy();
    this.runtime.coldStart();
    if (!this.sharesMoto) await this.moto.stop();
    await this.proxy.close();
    for (const [key, value] of Object.entries(this.savedEnv)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    await new Promise<void>(resolve => this.log.end(() => resolve()));
  }

  private registerHandlers(definition: string, functions: TemplateFunction[], handlers: Record<string, string>): void {
    const mapped = new Map<string, FunctionConfig>();
    for (const [key, handler] of Object.entries(handlers)) {
      const exact = functions.filter(f => f.logicalId === key);
      const matches = exact.length ? exact : functions.filter(f => f.logicalId.includes(key));
      if (matches.length !== 1) {
        throw new Error(`handlers key '${key}' must name exactly one Lambda function of the template, got ${matches.length}; functions: ${functions.map(f => f.logicalId).join(', ') || 'none'}`);
      }
      const [fn] = matches;
      mapped.set(fn.logicalId, { functionName: fn.functionName, handler, environment: fn.environment, timeoutSeconds: fn.timeoutSeconds });
    }
    const invoked = functions.filter(f => definition.includes(`:function:${f.functionName}`) || definition.includes(`"${f.functionName}"`));
    const missing = invoked.filter(f => !mapped.has(f.logicalId)).map(f => f.logicalId);
    if (missing.length) throw new Error(`the state machine invokes ${missing.join(', ')}, but \`handlers\` maps no handler to it`);
    for (const fn of mapped.values()) this.proxy.registerFunction(fn);
  }

  /**
   * GetExecutionHistory's events. On a busy machine moto 5.2.1 can answer it with a 500 page while
   * its interpreter thread is still writing an execution's last events (the execution has already
   * ended): the read is tried again until moto answers, within the hang limit.
   */
  private async history(executionArn: string): Promise<HistoryEvent[]> {
    const deadline = Date.now() + HANG_LIMIT_MS;
    for (;;) {
      try {
        const events: HistoryEvent[] = [];
        let nextToken: string | undefined;
        do {
          const page = await this.sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }));
          events.push(...(page.events ?? []));
          nextToken = page.nextToken;
        } while (nextToken);
        return events;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        this.log.write(`harness: GetExecutionHistory of ${executionArn} failed, reading it again: ${(err as Error).message}\n`);
        await sleep(250);
      }
    }
  }

  private async stopExecution(executionArn: string): Promise<void> {
    try {
      await this.sfn.send(new StopExecutionCommand({ executionArn, error: 'Emulator.Stopped', cause: 'stopped by the emulator harness' }));
    } catch (err) {
      this.log.write(`harness: stopping ${executionArn} failed: ${(err as Error).message}\n`);
    }
  }

  private async motoApi(pathname: string, body?: object): Promise<void> {
    const response = await fetch(`${this.moto.url}${pathname}`, { method: 'POST', body: body ? JSON.stringify(body) : undefined });
    if (!response.ok) throw new Error(`${pathname} failed in moto (${response.status}): ${await response.text()}`);
  }

  private setEnv(values: Record<string, string | undefined>): void {
    for (const [key, value] of Object.entries(values)) {
      this.savedEnv[key] = process.env[key];
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

/**
 * A jest `describe` whose tests share one emulator: started in beforeAll, reset after each test,
 * stopped in afterAll. Without moto the tests are skipped with one message, unless CI=true, where
 * a missing moto fails the run.
 */
export function describeWithEmulator(name: string, body: (emulator: () => Emulator) => void): void {
  const unavailable = motoUnavailableReason();
  if (unavailable) {
    const message = `emulator tests need moto (Python package \`moto[server]\` 5.2.x): ${unavailable}. Set MOTO_PYTHON to a Python that has it.`;
    if (process.env.CI === 'true' || process.env.CI === '1') {
      describe(name, () => {
        test('moto is available (required when CI=true)', () => {
          throw new Error(message);
        });
      });
      return;
    }
    noticeOnce(`Skipping emulator tests: ${message}`);
    describe.skip(name, () => body(() => {
      throw new Error('moto is not available');
    }));
    return;
  }

  describe(name, () => {
    let emulator: Emulator | undefined;
    beforeAll(async () => {
      emulator = await Emulator.start({ shared: true });
    }, START_TIMEOUT_MS + HANG_LIMIT_MS);
    afterEach(async () => {
      await emulator?.reset();
    });
    afterAll(async () => {
      await emulator?.stop();
    });
    body(() => {
      if (!emulator) throw new Error('the emulator did not start (see the beforeAll error)');
      return emulator;
    });
  });
}

/** One skip notice per test run, however many emulator test files there are. */
function noticeOnce(message: string): void {
  const marker = path.join(LOG_DIR, `skip-notice-${process.ppid}`);
  try {
    fs.mkdirSync(LOG_DIR, { recursive: true });
    fs.writeFileSync(marker, message, { flag: 'wx' });
  } catch {
    return;
  }
  process.stderr.write(`${message}\n`);
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
}

/** The error and cause of the event that ended an execution unsuccessfully. */
function endDetails(history: HistoryEvent[]): { error?: string; cause?: string } | undefined {
  for (const event of [...history].reverse()) {
    const details = event.executionFailedEventDetails ?? event.executionTimedOutEventDetails ?? event.executionAbortedEventDetails;
    if (details) return details;
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}
