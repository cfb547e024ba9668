import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { acquireLock } from '../../../lambda-src/ansible-deploy/lock';
import { resetAwsClients } from '../../../lambda-src/core/aws-clients';
import { describeWithEmulator } from '../../emulator/harness';

describeWithEmulator('the AnsibleDeployStage lock on DynamoDB (moto)', emulator => {
  const lock = { table: 'locks', name: 'web-fleet', ttlSeconds: 600, pollSeconds: 0.2, releaseSeconds: 30 };
  beforeEach(async () => {
    resetAwsClients();
    await emulator().client(DynamoDBClient).send(new CreateTableCommand({
      TableName: 'locks',
      KeySchema: [{ AttributeName: 'lockName', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'lockName', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }));
  });
  const holder = async () => (await emulator().client(DynamoDBClient).send(new GetItemCommand({ TableName: 'locks', Key: { lockName: { S: 'web-fleet' } } }))).Item?.owner?.S;

  test('a second build waits until the first releases the lock, then holds it', async () => {
    const lines: string[] = [];
    const first = await acquireLock(lock, 'build:1', l => lines.push(`1 ${l}`));
    expect(await holder()).toBe('build:1');
    let secondHeld = false;
    const second = acquireLock(lock, 'build:2', l => lines.push(`2 ${l}`)).then(held => { secondHeld = true; return held; });
    await new Promise(r => setTimeout(r, 600));
    expect(secondHeld).toBe(false);
    await first.release();
    const held = await second;
    expect(await holder()).toBe('build:2');
    await held.release();
    expect(await holder()).toBeUndefined();
    expect(lines.filter(l => l.startsWith('2 ') && l.includes('is held by build:1'))).toHaveLength(1);
  });

  test('an expired lease is taken over; the old holder\'s release then leaves the new holder\'s lock alone', async () => {
    const stale = await acquireLock({ ...lock, ttlSeconds: -1 }, 'build:killed', () => undefined);
    const lines: string[] = [];
    await acquireLock(lock, 'build:new', l => lines.push(l));
    await stale.release();
    expect(await holder()).toBe('build:new');
  });
});
