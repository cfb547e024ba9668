import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { EmulatorTestStack } from './fixtures/test-stack';
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

  test('shared: the next emulator of this process uses the same moto, reset, with its own proxy receiving the state machines\' calls; stop() leaves moto running', async () => {
    const stack = new EmulatorTestStack();
    const first = await Emulator.start({ shared: true });
    let pid: number;
    try {
      pid = first.motoPid!;
      await first.client(SSMClient).send(new PutParameterCommand({ Name: '/lifecycle/left-over', Value: 'x', Type: 'String' }));
    } finally {
      await first.stop();
    }
    expect(isRunning(pid)).toBe(true);
    await expect(fetch(first.endpoint)).rejects.toThrow();

    const second = await Emulator.start({ shared: true });
    try {
      expect(second.motoPid).toBe(pid);
      expect(second.endpoint).not.toBe(first.endpoint);
      await expect(second.client(SSMClient).send(new GetParameterCommand({ Name: '/lifecycle/left-over' })))
        .rejects.toMatchObject({ name: 'ParameterNotFound' });
      await second.client(SSMClient).send(new PutParameterCommand({ Name: '/lifecycle/p', Value: 'v', Type: 'String' }));
      const result = await second.runStateMachine(stack.template(), stack.logicalId(stack.loop), {
        input: { target: 1, waitSeconds: 0, parameterName: '/lifecycle/p' },
        handlers: { Work: 'test/emulator/fixtures/handlers.ts#work' },
      });
      expect(result.status).toBe('SUCCEEDED');
      expect(result.calls.map(c => `${c.service}:${c.operation}`)).toEqual(['lambda:Invoke', 'ssm:GetParameter']);
    } finally {
      await second.stop();
    }
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
