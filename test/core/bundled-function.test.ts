import * as fs from 'fs';
import * as path from 'path';
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { createBundledFunction, handlerAssetPath } from '../../src/core/bundled-function';

// A throw-away bundle where the library build writes real ones, so the asset resolves.
const TEST_HANDLER = 'bundled-function-test';
const testAsset = handlerAssetPath(TEST_HANDLER);
beforeAll(() => {
  fs.mkdirSync(testAsset, { recursive: true });
  fs.writeFileSync(path.join(testAsset, 'index.js'), 'exports.handler = async () => {};');
});
afterAll(() => fs.rmSync(path.dirname(testAsset), { recursive: true, force: true }));

test('creates an ARM64 function on the pinned runtime with its own log group, JSON logs and the given settings', () => {
  const stack = new Stack();
  const fn = createBundledFunction(stack, 'Fn', {
    handler: TEST_HANDLER,
    description: 'does things',
    environment: { TABLE: 't' },
    timeout: Duration.minutes(2),
    logRetention: logs.RetentionDays.ONE_WEEK,
  });
  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::Lambda::Function', {
    Runtime: 'nodejs24.x',
    Architectures: ['arm64'],
    Handler: 'index.handler',
    Timeout: 120,
    MemorySize: 256,
    Description: 'does things',
    Environment: { Variables: { TABLE: 't' } },
    LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN', LogGroup: { Ref: stack.getLogicalId(stack.node.findChild('FnLogGroup').node.defaultChild as any) } },
  });
  template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  expect(fn.role).toBeDefined();
});

test('a handler that was not bundled fails at synth, naming the missing asset', () => {
  expect(() => createBundledFunction(new Stack(), 'Fn', { handler: 'not-built', description: 'x' }))
    .toThrow(/assets\/lambda-src\/not-built\/handler/);
});
