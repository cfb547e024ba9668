import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { buildSync } from 'esbuild';
import { EmulatorTestStack } from './fixtures/test-stack';
import { describeWithEmulator } from './harness';

/** Bundles the fixture with the options the library's bundle tasks use. */
function bundleFixture(): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'emulator-bundle-')), 'handler');
  buildSync({
    entryPoints: [path.join(__dirname, 'fixtures', 'parameter-reader.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    minify: true,
    mainFields: ['module', 'main'],
    supported: { 'dynamic-import': false },
    logLevel: 'silent',
    outfile: path.join(dir, 'index.js'),
    tsconfig: 'tsconfig.dev.json',
  });
  return dir;
}

describeWithEmulator('bundled handlers run in-process', emulator => {
  let bundle: string;
  beforeAll(() => {
    bundle = bundleFixture();
  });
  afterAll(() => {
    fs.rmSync(path.dirname(bundle), { recursive: true, force: true });
  });

  test('the bundle\'s own SDK calls go to the emulator, and its logs go to the emulator log', async () => {
    await emulator().client(SSMClient).send(new PutParameterCommand({ Name: '/app/version', Value: '1.2.3', Type: 'String' }));

    const result = await emulator().invokeHandler(bundle, { name: '/app/version' }, { functionName: 'ParameterReader' });

    expect(result).toEqual({ value: '1.2.3', functionName: 'ParameterReader' });
    expect(emulator().calls('ssm', 'GetParameter').map(c => c.input)).toEqual([{ Name: '/app/version' }]);
    const log = await emulator().readLog();
    expect(log).toMatch(/"message":"reading parameter".*"name":"\/app\/version"/);
  });

  test('an error the bundle throws rejects with its name and message', async () => {
    await expect(emulator().invokeHandler(bundle, {})).rejects.toMatchObject({ name: 'InputError', message: '`name` is missing from the event' });
  });

  test('a bundle mapped to a template function runs in the state machine, and its error becomes the Step Functions error', async () => {
    const stack = new EmulatorTestStack();
    const result = await emulator().runStateMachine(stack.template(), stack.logicalId(stack.loop), {
      input: { target: 1 },
      handlers: { Work: bundle },
    });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InputError');
    expect(JSON.parse(result.cause!).errorMessage).toBe('`name` is missing from the event');
  });
});
