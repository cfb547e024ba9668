import './request-timeout';
import { CreateTableCommand, DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { acquireLock } from '../../lambda-src/ansible-deploy/lock';
import { resetAwsClients } from '../../lambda-src/core/aws-clients';
import { ScriptedReply } from '../emulator/aws-protocol';
import { describeWithEmulator } from '../emulator/harness';

/*
 * Fault injection on the AnsibleDeployStage runner's lock (its only AWS calls besides the build's
 * own): the lock table refuses, throttles, answers 5xx, hangs or drops the connection (before or
 * after the write was applied). A lock is never held twice, a run never starts ansible without it,
 * a release the table throttles or does not answer is tried again within its time budget, and a
 * release that fails for good never changes the run's result (the lease ends the lock). The job result is
 * CodeBuild's (CodePipeline's CodeBuild action), so there is none to inject faults into here.
 */

const throttled: ScriptedReply = { error: { code: 'ThrottlingException', message: 'Rate exceeded' } };
const serverError: ScriptedReply = { status: 500, error: { code: 'InternalServerError', message: 'try again', status: 500 } };
const denied: ScriptedReply = { error: { code: 'AccessDeniedException', message: 'not authorized to perform dynamodb:PutItem' } };

describeWithEmulator('AnsibleDeployStage lock faults', emulator => {
  const lock = { table: 'ansible-locks', name: 'web-fleet', ttlSeconds: 600, pollSeconds: 0.05, releaseSeconds: 30 };
  const lines: string[] = [];
  const log = (line: string) => { lines.push(line); };
  const holder = async () => (await emulator().client(DynamoDBClient).send(new GetItemCommand({
    TableName: lock.table, Key: { lockName: { S: lock.name } }, ConsistentRead: true,
  }))).Item?.owner?.S;

  beforeEach(async () => {
    lines.length = 0;
    resetAwsClients();
    await emulator().client(DynamoDBClient).send(new CreateTableCommand({
      TableName: lock.table,
      KeySchema: [{ AttributeName: 'lockName', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'lockName', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }));
  });

  test.each<[string, ScriptedReply]>([
    ['throttled', throttled],
    ['answered 500', serverError],
    ['hung past the request timeout', { fault: 'hang' }],
    ['dropped before it was applied', { fault: 'drop' }],
    ['applied, then the connection dropped', { fault: 'applied-then-drop' }],
  ])('a lock write %s is tried again and the build holds the lock once', async (_, fault) => {
    let first = true;
    emulator().script('dynamodb', 'PutItem', () => {
      if (!first) return undefined;
      first = false;
      return fault;
    });
    const held = await acquireLock(lock, 'build:1', log);
    expect(await holder()).toBe('build:1');
    expect(lines.some(l => l.startsWith('lock table did not answer'))).toBe(true);
    expect(emulator().calls('dynamodb', 'PutItem').length).toBe(2);
    await held.release();
    expect(await holder()).toBeUndefined();
  });

  test('a refused lock write ends the run before ansible (the error is not retried)', async () => {
    emulator().script('dynamodb', 'PutItem', denied);
    await expect(acquireLock(lock, 'build:1', log)).rejects.toThrow('not authorized to perform dynamodb:PutItem');
    expect(emulator().calls('dynamodb', 'PutItem')).toHaveLength(1);
  });

  test('while another build holds the lock, an unreadable holder item only changes the log line', async () => {
    const ddb = emulator().client(DynamoDBClient);
    await ddb.send(new PutItemCommand({
      TableName: lock.table,
      Item: { lockName: { S: lock.name }, owner: { S: 'build:other' }, expiresAt: { N: String(Math.floor(Date.now() / 1000) + 600) } },
    }));
    emulator().script('dynamodb', 'GetItem', (_input, call) => (call.service === 'dynamodb' && lines.length === 0 ? serverError : undefined));
    const acquiring = acquireLock(lock, 'build:1', log);
    // The second read of the holder comes after the first one's log line; then the other build releases.
    await emulator().waitForCalls('dynamodb', 'GetItem', () => true, 2);
    await ddb.send(new DeleteItemCommand({ TableName: lock.table, Key: { lockName: { S: lock.name } } }));
    const held = await acquiring;
    expect(lines[0]).toMatch(/^lock 'web-fleet' is held by another build \(its item could not be read: InternalServerError\): waiting$/);
    expect(await holder()).toBe('build:1');
    await held.release();
  });

  test.each<[string, ScriptedReply]>([
    ['throttled', throttled],
    ['hung', { fault: 'hang' }],
    ['answered 500', serverError],
    ['dropped before it was applied', { fault: 'drop' }],
  ])('a release that is %s once is tried again within its time budget: the lock is free for the next build at once', async (_, fault) => {
    const held = await acquireLock(lock, 'build:1', log);
    let first = true;
    emulator().script('dynamodb', 'DeleteItem', () => {
      if (!first) return undefined;
      first = false;
      return fault;
    });
    await held.release();
    expect(lines.some(l => l.startsWith('lock table did not answer the release'))).toBe(true);
    expect(lines.at(-1)).toBe('lock \'web-fleet\' released');
    expect(await holder()).toBeUndefined();
    await acquireLock({ ...lock, pollSeconds: 60 }, 'build:2', log);
    expect(await holder()).toBe('build:2');
  });

  test('a release refused outright is not retried; the lease ends the lock', async () => {
    const held = await acquireLock(lock, 'build:1', log);
    emulator().script('dynamodb', 'DeleteItem', { error: { code: 'AccessDeniedException', message: 'not authorized to perform dynamodb:DeleteItem' } });
    await held.release();
    expect(emulator().calls('dynamodb', 'DeleteItem')).toHaveLength(1);
    expect(lines.at(-1)).toBe('lock \'web-fleet\' not released (AccessDeniedException): its lease ends it');
  });

  // A hung release ends at the release's budget (the abort, AbortError), not at the request timeout.
  test.each<[string, ScriptedReply, string]>([
    ['throttled', throttled, 'ThrottlingException'],
    ['hung', { fault: 'hang' }, 'AbortError'],
    ['answered 500', serverError, 'InternalServerError'],
  ])('a release that is %s past its time budget is logged; the lease ends the lock and the next build takes it then', async (_, fault, error) => {
    const held = await acquireLock({ ...lock, ttlSeconds: 1, releaseSeconds: 1 }, 'build:1', log);
    emulator().script('dynamodb', 'DeleteItem', fault);
    const started = Date.now();
    await held.release();
    // Without its budget, a release would be tried for good. The bound tells that from a slow machine.
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(lines.at(-1)).toBe(`lock 'web-fleet' not released (${error}): its lease ends it`);
    expect(await holder()).toBe('build:1');
    await new Promise(r => setTimeout(r, 2100));
    await acquireLock(lock, 'build:2', log);
    expect(await holder()).toBe('build:2');
  });
});
