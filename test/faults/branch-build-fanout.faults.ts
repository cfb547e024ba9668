import './request-timeout';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { branchEvent, commitOf, startFanout } from '../branch-build-fanout/emulator-fanout';
import { ScriptedReply } from '../emulator/aws-protocol';
import { describeWithEmulator, Emulator } from '../emulator/harness';

/*
 * Fault injection on the BranchBuildFanout asset as it ships, on moto (EventBridge → SQS FIFO →
 * intake and dispatch handlers): StartBuild and the ledger's calls throttled, answered 5xx, hung or
 * dropped (before or after CodeBuild applied them), the queue's own calls failing. Whatever
 * happens, each push is built exactly once and nothing that can succeed reaches the dead-letter
 * queue. Calls time out after FAULT_REQUEST_TIMEOUT_MS here (request-timeout.ts), and the SDK makes one attempt.
 */

const throttled: ScriptedReply = { error: { code: 'ThrottlingException', message: 'Rate exceeded' } };
const serverError: ScriptedReply = { error: { code: 'InternalServerError', message: 'try again', status: 500 } };
const ddbThrottled: ScriptedReply = { error: { code: 'ProvisionedThroughputExceededException', message: 'slow down' } };

/** Answers the first `count` calls with the fault, then lets the calls through to moto. */
function first(count: number, reply: ScriptedReply) {
  let calls = 0;
  return () => (calls++ < count ? reply : undefined);
}

describeWithEmulator('BranchBuildFanout faults', emulator => {
  let fanout: Awaited<ReturnType<typeof startFanout>> | undefined;
  const start = async (options: Parameters<typeof startFanout>[1] = {}) => {
    fanout = await startFanout(emulator(), options);
    return fanout;
  };
  afterEach(async () => {
    await fanout?.stop();
    fanout = undefined;
  });

  /** Two pushes to one branch and one to another; settles; checks each was built exactly once, in order, none dead-lettered. */
  async function pushAndCheck(f: Awaited<ReturnType<typeof startFanout>>, em: Emulator) {
    await f.putEvents([branchEvent('feature/a', commitOf(1)), branchEvent('feature/b', commitOf(2)), branchEvent('feature/a', commitOf(3))]);
    await f.settle();
    expect(f.codebuild.buildsOf('feature/a').map(b => b.sourceVersion)).toEqual([commitOf(1), commitOf(3)]);
    expect(f.codebuild.buildsOf('feature/b').map(b => b.sourceVersion)).toEqual([commitOf(2)]);
    expect(await f.deadLetters()).toEqual([]);
    return em.calls('codebuild', 'StartBuild');
  }

  test.each([
    ['throttled (ThrottlingException) 4 times', throttled],
    ['answered 500 four times (more than maxReceiveCount)', serverError],
    ['hung 4 times (the request times out)', { fault: 'hang' } as ScriptedReply],
    ['dropped 4 times before CodeBuild got it', { fault: 'drop' } as ScriptedReply],
  ])('StartBuild %s: every push built once, in order, none dead-lettered', async (_name, reply) => {
    const f = await start();
    f.codebuild.refuse = first(4, reply);
    const calls = await pushAndCheck(f, emulator());
    expect(calls.length).toBeGreaterThanOrEqual(7);
  });

  test('StartBuild applied, then its answer dropped: the retry sends the same idempotency token and CodeBuild answers the same build', async () => {
    const f = await start();
    f.codebuild.dropAfterStart = 2;
    const calls = await pushAndCheck(f, emulator());
    expect(calls.length).toBe(5);
    expect(new Set(calls.map(c => c.input.idempotencyToken)).size).toBe(3);
  });

  test('a redo after CodeBuild\'s idempotency window finds the build the lost answer started instead of starting another', async () => {
    const f = await start();
    f.codebuild.dropAfterStart = 1;
    // The retry comes "6 minutes later": the build and the ledger's claim (as the retry reads it) are aged.
    let aged = false;
    emulator().script('dynamodb', 'GetItem', (input): ScriptedReply | undefined => {
      if (aged || !input.ConsistentRead) return undefined;
      aged = true;
      for (const b of f.codebuild.builds) b.startedAt -= 6 * 60_000;
      return { body: { Item: { pk: input.Key.pk, state: { S: 'starting' }, claimedAt: { N: String(Date.now() - 6 * 60_000) } } } };
    });
    await f.putEvents([branchEvent('feature/a', commitOf(1))]);
    await f.settle();
    expect(f.codebuild.builds).toHaveLength(1);
    expect(emulator().calls('codebuild', 'StartBuild')).toHaveLength(1);
    expect(emulator().calls('codebuild', 'ListBuildsForProject')).toHaveLength(1);
  });

  test.each([
    ['the claim (PutItem) throttled', 'PutItem', ddbThrottled],
    ['the claim (PutItem) hung', 'PutItem', { fault: 'hang' } as ScriptedReply],
    ['the mark (UpdateItem) answered 500 after the build started', 'UpdateItem', serverError],
    ['the mark (UpdateItem) dropped after it was applied', 'UpdateItem', { fault: 'applied-then-drop' } as ScriptedReply],
  ])('ledger: %s: every push built once', async (_name, operation, reply) => {
    const f = await start();
    emulator().script('dynamodb', operation, first(2, reply));
    await pushAndCheck(f, emulator());
    expect(f.codebuild.builds).toHaveLength(3);
  });

  test('the intake\'s SendMessage answered 500 and dropped: the events come back and are queued once', async () => {
    const f = await start();
    let n = 0;
    emulator().script('sqs', 'SendMessage', () => {
      n++;
      if (n <= 2) return serverError;
      if (n === 3) return { fault: 'applied-then-drop' };
      return undefined;
    });
    await pushAndCheck(f, emulator());
  });

  test('ChangeMessageVisibility failing: throttled messages come back after the queue\'s visibility timeout instead', async () => {
    const f = await start({ visibilitySeconds: 2 });
    f.codebuild.refuse = first(2, throttled);
    emulator().script('sqs', 'ChangeMessageVisibilityBatch', serverError);
    await pushAndCheck(f, emulator());
  });

  test('a malformed message whose move to the dead-letter queue fails stays in the queue, then moves', async () => {
    const f = await start({ props: { maxReceiveCount: 1 } });
    let refusals = 1;
    emulator().script('sqs', 'SendMessage', input => (input.QueueUrl === f.urls.deadLetterQueueUrl && refusals-- > 0 ? serverError : undefined));
    await emulator().client(SQSClient).send(new SendMessageCommand({ QueueUrl: f.urls.queueUrl, MessageBody: 'garbage', MessageGroupId: 'g', MessageDeduplicationId: 'g1' }));
    await f.settle();
    expect(await f.deadLetters()).toEqual(['garbage']);
  });
});
