import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as path from 'path';
import type { Writable } from 'stream';

const LAUNCHER = path.join(__dirname, 'moto-launcher.py');
/** moto's imports are CPU-bound: on a busy machine it has taken over a minute to listen. A start that fails exits at once. */
export const START_TIMEOUT_MS = 300_000;
const MOTO_MISSING_EXIT_CODE = 3;

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

/** A moto server started for the tests; `stop()` ends it by its PID. */
export class MotoProcess {
  /**
   * Starts moto on a free 127.0.0.1 port. `interpreterPort` is where moto's Step Functions
   * interpreter sends its AWS calls (the harness proxy). moto's output goes to `log`.
   */
  public static async start(interpreterPort: number, log: Writable): Promise<MotoProcess> {
    const child = spawn(motoPython(), [LAUNCHER], {
      env: { ...process.env, MOTO_PORT: String(interpreterPort), PYTHONUNBUFFERED: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const moto = new MotoProcess(child);
    child.stderr!.pipe(log, { end: false });
    const port = await new Promise<number>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(() => fail(new Error(`moto did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      const fail = (err: Error) => {
        clearTimeout(timer);
        moto.kill();
        reject(err);
      };
      child.on('error', err => fail(new MotoMissingError(`${motoPython()} cannot be run: ${err.message}`)));
      child.on('exit', code => fail(code === MOTO_MISSING_EXIT_CODE
        ? new MotoMissingError(`moto is not installed for ${motoPython()}`)
        : new Error(`moto exited with code ${code} while starting; see its output in the emulator log`)));
      child.stdout!.on('data', chunk => {
        stdout += chunk;
        const match = /MOTO_LISTENING (\d+)/.exec(stdout);
        if (match) {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          child.stdout!.removeAllListeners('data');
          child.stdout!.pipe(log, { end: false });
          resolve(Number(match[1]));
        }
      });
    });
    moto.url = `http://127.0.0.1:${port}`;
    return moto;
  }

  /** moto's own URL (not recorded, not scripted). */
  public url = '';
  private readonly onExit: () => void;

  private constructor(private readonly child: ChildProcess) {
    // Also ends moto when the test process exits without calling stop(); the launcher itself
    // exits when its stdin closes, which covers a test process that is killed.
    this.onExit = () => this.kill();
    process.once('exit', this.onExit);
  }

  public get pid(): number | undefined {
    return this.child.pid;
  }

  /** Ends moto: SIGTERM, then SIGKILL if it has not exited after 2 s. */
  public async stop(): Promise<void> {
    process.removeListener('exit', this.onExit);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>(resolve => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.kill(), 2000);
    await exited;
    clearTimeout(timer);
  }

  private kill(): void {
    process.removeListener('exit', this.onExit);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
