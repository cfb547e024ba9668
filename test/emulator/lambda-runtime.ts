import { Console } from 'console';
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import { createRequire } from 'module';
import * as path from 'path';
import type { Writable } from 'stream';
import * as vm from 'vm';

/** Where the library's bundled handlers are built (`npx projen bundle`). */
export const ASSETS_DIR = path.resolve(__dirname, '..', '..', 'assets', 'lambda-src');

/** A handler of a construct's bundled asset, as it ships: `assets/lambda-src/<asset>/handlers`, export `handler`. */
export function handlerAsset(asset: string, handler: string): string {
  const dir = path.join(ASSETS_DIR, asset, 'handlers');
  if (!fs.existsSync(path.join(dir, 'index.js'))) {
    throw new Error(`no bundled asset at ${dir}: run \`npx projen bundle\` (is there a lambda-src/${asset}/handlers.ts?)`);
  }
  return `${dir}#${handler}`;
}

/** How one function runs: its handler and what its template gives it. */
export interface FunctionConfig {
  readonly functionName: string;
  /** Handler module: a bundled asset directory (index.js), a .js or .ts file; `#export` picks the export (default `handler`). */
  readonly handler: string;
  readonly environment?: Record<string, string>;
  readonly timeoutSeconds?: number;
}

export type InvocationOutcome =
  | { readonly ok: true; readonly result: any }
  | { readonly ok: false; readonly errorType: string; readonly errorMessage: string; readonly stackTrace?: string[] };

type HandlerFn = (event: any, context: any) => Promise<any>;

/**
 * Runs Lambda handlers in this process the way the Lambda runtime does: one module instance per
 * function kept warm between invocations (until `coldStart()`), JSON in and out, a thrown error
 * becomes `{errorType, errorMessage}`, a handler slower than its timeout fails with `Sandbox.Timedout`.
 * Bundled (.js) handlers write their stdout/stderr (e.g. the JSON logs) to `log`, not to the test output.
 */
export class LambdaRuntime {
  private readonly warm = new Map<string, HandlerFn>();
  /** process.env values before the functions' environments were applied. */
  private readonly envBefore = new Map<string, string | undefined>();
  private readonly handlerProcess: NodeJS.Process;
  private readonly handlerConsole: Console;

  constructor(log: Writable) {
    this.handlerProcess = Object.create(process, { stdout: { value: log }, stderr: { value: log } });
    this.handlerConsole = new Console({ stdout: log, stderr: log });
  }

  /** Forgets every loaded module and the functions' environment variables: the next invocation of each function is a cold start. */
  public coldStart(): void {
    this.warm.clear();
    for (const [key, value] of this.envBefore) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    this.envBefore.clear();
  }

  public async invoke(fn: FunctionConfig, event: any, context: Record<string, any> = {}): Promise<InvocationOutcome> {
    const timeoutMs = (fn.timeoutSeconds ?? 30) * 1000;
    const deadline = Date.now() + timeoutMs;
    const lambdaContext = {
      functionName: fn.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:123456789012:function:${fn.functionName}`,
      memoryLimitInMB: '256',
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${fn.functionName}`,
      logStreamName: 'emulator',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      ...context,
    };
    for (const [key, value] of Object.entries(fn.environment ?? {})) {
      if (!this.envBefore.has(key)) this.envBefore.set(key, process.env[key]);
      process.env[key] = value;
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const handler = this.load(fn);
      // Lambda passes the event as JSON and returns the result as JSON.
      const input = event === undefined ? undefined : JSON.parse(JSON.stringify(event));
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`), { name: 'Sandbox.Timedout' })), timeoutMs);
      });
      const result = await Promise.race([Promise.resolve(handler(input, lambdaContext)), timedOut]);
      return { ok: true, result: result === undefined ? null : JSON.parse(JSON.stringify(result)) };
    } catch (err: any) {
      const isError = err !== null && typeof err === 'object' && typeof err.message === 'string';
      return {
        ok: false,
        errorType: isError ? String(err.name ?? 'Error') : 'Error',
        errorMessage: isError ? err.message : String(err),
        stackTrace: isError && typeof err.stack === 'string' ? err.stack.split('\n').slice(1).map((l: string) => l.trim()) : undefined,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  private load(fn: FunctionConfig): HandlerFn {
    const key = `${fn.functionName}\0${fn.handler}`;
    const loaded = this.warm.get(key);
    if (loaded) return loaded;
    const [file, exportName] = resolveHandler(fn.handler);
    const exports = file.endsWith('.ts') ? loadTestModule(file) : this.loadBundle(file);
    const handler = exports?.[exportName];
    if (typeof handler !== 'function') {
      throw Object.assign(new Error(`${file} does not export a function \`${exportName}\``), { name: 'Runtime.HandlerNotFound' });
    }
    this.warm.set(key, handler);
    return handler;
  }

  /** Evaluates a bundled CommonJS handler as a fresh module, with its output sent to the log. */
  private loadBundle(file: string): any {
    const source = fs.readFileSync(file, 'utf8');
    const wrapper = vm.compileFunction(source, ['exports', 'require', 'module', '__filename', '__dirname', 'process', 'console'], { filename: file });
    const module = { exports: {} as any };
    wrapper.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file), this.handlerProcess, this.handlerConsole);
    return module.exports;
  }
}

/** `dir` → `dir/index.js`; `file#name` → [file, name]. Relative paths are from the working directory. */
function resolveHandler(spec: string): [string, string] {
  const [target, exportName = 'handler'] = spec.split('#');
  let file = path.resolve(target);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.js');
  if (!fs.existsSync(file)) {
    throw Object.assign(new Error(`handler module not found: ${file}${file.includes(`${path.sep}assets${path.sep}`) ? ' (run `npx projen bundle`)' : ''}`), { name: 'Runtime.ImportModuleError' });
  }
  return [file, exportName];
}

/** A TypeScript test module, loaded fresh through jest's module registry (or ts-node's require outside jest). */
function loadTestModule(file: string): any {
  if (typeof jest !== 'undefined') {
    let exports: any;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      exports = require(file);
    });
    return exports;
  }
  delete require.cache[require.resolve(file)];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(file);
}
