import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const LAUNCHER = path.join(__dirname, 'moto-launcher.py');
/** moto's imports are CPU-bound: on a busy machine it has taken over a minute to listen. A start that fails exits at once. */
export const START_TIMEOUT_MS = 300_000;
const MOTO_MISSING_EXIT_CODE = 3;
/** How long a known shared server may take to answer before it is taken for dead and another is started. */
const SHARED_ANSWER_TIMEOUT_MS = 30_000;

/** The Python that runs moto: `MOTO_PYTHON`, or `python3` from the PATH. */
export function motoPython(): string {
  return process.env.MOTO_PYTHON ?? 'python3';
}

/** Why moto cannot run here, or undefined when it can (a quick check, no server started). */
export function motoUnavailableReason(): string | undefined {
  // Finds the packages without importing them (importing moto's server takes about half a second).
  const script = 'import importlib.util as u; missing = [m for m in ("moto", "flask", "werkzeug") if u.find_spec(m) is None]; print(" ".join(missing))';
  const check = spawnSync(motoPython(), ['-c', script], { encoding: 'utf8', timeout: START_TIMEOUT_MS });
  if (check.error) return `${motoPython()} cannot be run (${check.error.message})`;
  if (check.status !== 0) return `${motoPython()} failed: ${(check.stderr || '').trim().split('\n').pop()}`;
  const missing = check.stdout.trim();
  return missing ? `${motoPython()} has no ${missing.split(' ').join(', ')}` : undefined;
}

export class MotoMissingError extends Error {
  public override readonly name = 'MotoMissingError';
}

interface SharedRecord { readonly pid: number; readonly url: string }

/**
 * A moto server for the tests, on a free 127.0.0.1 port, writing its output to the emulator log.
 * It ends by itself when the process that started it goes away (its standard input closes).
 */
export class MotoProcess {
  /** A server of its own: `stop()` ends it by its PID. */
  public static async start(interpreterPort: number, logFile: string): Promise<MotoProcess> {
    const moto = await MotoProcess.launch(logFile);
    await moto.pointInterpreterAt(interpreterPort);
    return moto;
  }

  /**
   * The server every emulator of this process uses, started by the first and found again by the
   * next: a jest worker runs many test files one after another, each with a module registry of its
   * own, so the server is recorded in a file named after the PID. Starting moto is most of an
   * emulator test file's CPU start-up cost. The caller resets its state; nothing stops it.
   */
  public static async shared(interpreterPort: number, logFile: string): Promise<MotoProcess> {
    const record = path.join(path.dirname(logFile), `moto-of-${process.pid}.json`);
    const known = readRecord(record);
    if (known) {
      const moto = new MotoProcess(known.pid, known.url);
      if (await moto.pointInterpreterAt(interpreterPort, SHARED_ANSWER_TIMEOUT_MS).then(() => true, () => false)) return moto;
    }
    const moto = await MotoProcess.launch(logFile);
    await moto.pointInterpreterAt(interpreterPort);
    fs.writeFileSync(record, JSON.stringify({ pid: moto.pid!, url: moto.url } satisfies SharedRecord));
    return moto;
  }

  private static async launch(logFile: string): Promise<MotoProcess> {
    const logFd = fs.openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(motoPython(), [LAUNCHER], {
        env: { ...process.env, PYTHONUNBUFFERED: '1' },
        stdio: ['pipe', 'pipe', logFd],
      });
    } finally {
      fs.closeSync(logFd);
    }
    // Neither the server nor its pipes keep this process alive: a jest worker that shares it must
    // be able to exit, and the closed standard input then ends the server.
    child.unref();
    (child.stdin as unknown as { unref(): void }).unref();
    const port = await new Promise<number>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(() => fail(new Error(`moto did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      const fail = (err: Error) => {
        clearTimeout(timer);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        reject(err);
      };
      child.on('error', err => fail(new MotoMissingError(`${motoPython()} cannot be run: ${err.message}`)));
      child.on('exit', code => fail(code === MOTO_MISSING_EXIT_CODE
        ? new MotoMissingError(`moto is not installed for ${motoPython()}`)
        : new Error(`moto exited with code ${code} while starting; see its output in the emulator log`)));
      child.stdout!.on('data', chunk => {
        stdout += chunk;
        const match = /MOTO_LISTENING (\d+)\n/.exec(stdout);
        if (match) {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          child.removeAllListeners('error');
          // The launcher writes the rest of its standard output to the emulator log.
          child.stdout!.destroy();
          resolve(Number(match[1]));
        }
      });
    });
    return new MotoProcess(child.pid, `http://127.0.0.1:${port}`, child);
  }

  private constructor(
    public readonly pid: number | undefined,
    /** moto's own URL (not recorded, not scripted). */
    public readonly url: string,
    private readonly child?: ChildProcess,
  ) {}

  /** Ends a server started by `start()`: SIGTERM, then SIGKILL if it has not exited after 2 s. */
  public async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }

  /** Where moto's Step Functions interpreter sends its AWS calls from now on. */
  private async pointInterpreterAt(port: number, timeoutMs = START_TIMEOUT_MS): Promise<void> {
    const response = await fetch(`${this.url}/emulator/interpreter-port`, { method: 'POST', body: String(port), signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`moto at ${this.url} refused the interpreter port: ${response.status} ${await response.text()}`);
  }
}

function readRecord(file: string): SharedRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as SharedRecord;
  } catch {
    return undefined;
  }
}
