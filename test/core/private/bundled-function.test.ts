import * as fs from 'fs';
import * as path from 'path';
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { ASSET_HANDLERS } from '../../../src/core/private/assets';
import { assetPath, createBundledFunction } from '../../../src/core/private/bundled-function';

// The library's build writes the real assets (npx projen bundle runs before jest).

test('creates an ARM64 function on the pinned runtime from the construct\'s asset, with its own log group, JSON logs and the given settings', () => {
  const stack = new Stack();
  const fn = createBundledFunction(stack, 'Fn', {
    asset: 'vm-command',
    handler: 'event',
    description: 'does things',
    environment: { TABLE: 't' },
    timeout: Duration.minutes(2),
    logRetention: logs.RetentionDays.ONE_WEEK,
  });
  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::Lambda::Function', {
    Runtime: 'nodejs24.x',
    Architectures: ['arm64'],
    Handler: 'index.event',
    Timeout: 120,
    MemorySize: 256,
    Description: 'does things',
    Environment: { Variables: { TABLE: 't' } },
    LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN', LogGroup: { Ref: stack.getLogicalId(stack.node.findChild('FnLogGroup').node.defaultChild as any) } },
  });
  template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  expect(fn.role).toBeDefined();
});

test('several functions of one construct share its one asset, each picking its handler by name', () => {
  const stack = new Stack();
  createBundledFunction(stack, 'Run', { asset: 'vm-command', handler: 'run', description: 'run' });
  createBundledFunction(stack, 'Event', { asset: 'vm-command', handler: 'event', description: 'event' });
  const functions = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
  expect(functions.map(f => f.Properties.Handler).sort()).toEqual(['index.event', 'index.run']);
  const assetKeys = new Set(functions.map(f => JSON.stringify(f.Properties.Code.S3Key)));
  expect(assetKeys.size).toBe(1);
});

test('every asset the constructs name was built and exports exactly the handlers they name', () => {
  for (const [asset, handlers] of Object.entries(ASSET_HANDLERS)) {
    const file = path.join(assetPath(asset), 'index.js');
    expect(fs.existsSync(file)).toBe(true);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exported = require(file);
    expect(Object.keys(exported).sort()).toEqual([...handlers].sort());
    for (const name of handlers) expect(typeof exported[name]).toBe('function');
  }
});
