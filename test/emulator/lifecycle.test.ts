import { Emulator } from './harness';
import { MotoMissingError, motoUnavailableReason } from './moto-process';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const motoMissing = motoUnavailableReason();

(motoMissing ? describe.skip : describe)('emulator start and stop', () => {
  test('start() runs moto and points the SDK at the proxy; stop() ends moto by PID and restores the environment', async () => {
    const endpointBefore = process.env.AWS_ENDPOINT_URL;
    const emulator = await Emulator.start();
    const pid = emulator.motoPid!;
    try {
      expect(isRunning(pid)).toBe(true);
      expect(process.env.AWS_ENDPOINT_URL).toBe(emulator.endpoint);
      expect(emulator.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await emulator.stop();
    }
    expect(isRunning(pid)).toBe(false);
    expect(process.env.AWS_ENDPOINT_URL).toBe(endpointBefore);
    await expect(fetch(emulator.endpoint)).rejects.toThrow();
  });
});

describe('without moto', () => {
  const python = process.env.MOTO_PYTHON;
  beforeEach(() => {
    process.env.MOTO_PYTHON = '/nonexistent/python3';
  });
  afterEach(() => {
    if (python === undefined) delete process.env.MOTO_PYTHON;
    else process.env.MOTO_PYTHON = python;
  });

  test('the availability check says why, and start() fails with MotoMissingError', async () => {
    expect(motoUnavailableReason()).toMatch(/\/nonexistent\/python3 cannot be run/);
    await expect(Emulator.start()).rejects.toBeInstanceOf(MotoMissingError);
  });
});
