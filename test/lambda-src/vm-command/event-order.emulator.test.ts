import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { describeWithEmulator, handlerAsset } from '../../emulator/harness';
import { createRunTable } from '../../vm-command/emulator-run';

/*
 * SSM's "command finished" event, the send task recording the command and the wait task storing its
 * task token may reach the run table in any order. The bundled send, notify and wait handlers run
 * against moto's DynamoDB, so the update expressions and conditions are evaluated for real.
 * moto's SendCommand would pick its own command id: it is scripted so that the event can name the
 * command before it is sent. The task tokens are made up, so SendTaskSuccess is scripted (moto would
 * reject them) and asserted from the recorded calls.
 */

const TABLE = 'vm-command-runs';
const COMMAND_ID = '0b7f6f1e-8d2b-4f53-9d61-3c0a1f2e4d5c';
const A = 'i-0123456789abcdef0';

describeWithEmulator('a command-finished event and the run table, in every order', emulator => {
  const env = { TABLE_NAME: TABLE };

  beforeEach(async () => {
    await createRunTable(emulator(), TABLE);
    emulator().script('ssm', 'SendCommand', { body: { Command: { CommandId: COMMAND_ID } } });
    emulator().script('states', 'SendTaskSuccess', { body: {} });
  });

  const send = () => emulator().invokeHandler(handlerAsset('vm-command', 'run'), {
    step: 'send',
    runId: 'run-1',
    instanceIds: [A],
    targets: { instanceIds: [A] },
    parameters: {},
    config: {
      documentName: 'AWS-RunShellScript',
      parameters: { commands: ['true'] },
      deliveryTimeoutSeconds: 60,
      maxConcurrency: '1',
      maxErrors: '0',
      logGroupName: 'vm-output',
      marker: '# marker ',
    },
  }, {}, env);
  const notify = () => emulator().invokeHandler(handlerAsset('vm-command', 'event'), {
    'source': 'aws.ssm',
    'detail-type': 'EC2 Command Status-change Notification',
    'detail': { 'command-id': COMMAND_ID, 'status': 'Success' },
  }, {}, env);
  const wait = (token: string) => emulator().invokeHandler(handlerAsset('vm-command', 'run'), { step: 'wait', taskToken: token, commandId: COMMAND_ID }, {}, env);
  const resumedWith = () => emulator().calls('states', 'SendTaskSuccess').map(c => c.input.taskToken);
  const commandRow = async () => (await emulator().client(DynamoDBClient).send(new GetItemCommand({
    TableName: TABLE, Key: { pk: { S: `command#${COMMAND_ID}` } }, ConsistentRead: true,
  }))).Item;

  test('the event before send recorded the command: the mark survives and the wait resumes at once', async () => {
    await notify();
    expect(resumedWith()).toEqual([]);
    await send();
    expect(await commandRow()).toMatchObject({ runId: { S: 'run-1' }, completed: { BOOL: true } });
    await wait('token-1');
    expect(resumedWith()).toEqual(['token-1']);
  });

  test('the event after send recorded the command, before the token: the wait resumes at once', async () => {
    await send();
    await notify();
    await wait('token-1');
    expect(resumedWith()).toEqual(['token-1']);
  });

  test('the event after the token was stored: notify resumes the execution, once', async () => {
    await send();
    await wait('token-1');
    expect(resumedWith()).toEqual([]);
    await notify();
    await notify();
    expect(resumedWith()).toEqual(['token-1']);
  });

  test('the mark short-cuts one wait only: the next wait (after a status check found work left) parks', async () => {
    await notify();
    await send();
    await wait('token-1');
    await wait('token-2');
    expect(resumedWith()).toEqual(['token-1']);
  });

  test('a command no run ever records keeps only a short-lived mark and resumes nothing', async () => {
    const before = Math.floor(Date.now() / 1000);
    await notify();
    const row = await commandRow();
    expect(row?.runId).toBeUndefined();
    expect(Number(row?.expiresAt?.N)).toBeGreaterThan(before);
    expect(Number(row?.expiresAt?.N)).toBeLessThanOrEqual(before + 24 * 3600 + 5);
    await expect(wait('token-1')).rejects.toThrow(`command ${COMMAND_ID} is not recorded in the run table`);
    expect(resumedWith()).toEqual([]);
  });

  test('send keeps the run\'s full retention on a command marked first', async () => {
    await notify();
    await send();
    const row = await commandRow();
    expect(Number(row?.expiresAt?.N)).toBeGreaterThan(Math.floor(Date.now() / 1000) + 2 * 24 * 3600);
  });
});
