import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { branchEvent, commitOf, PROJECT, REPOSITORY, startFanout } from './emulator-fanout';
import { describeWithEmulator, handlerAsset } from '../emulator/harness';

const throttled = { error: { code: 'ThrottlingException', message: 'Rate exceeded' } };
const queueFull = { error: { code: 'AccountLimitExceededException', message: 'Cannot have more than 10 builds in queue for the account' } };

describeWithEmulator('BranchBuildFanout on the emulator (moto EventBridge → SQS FIFO → bundled handlers)', emulator => {
  let fanout: Awaited<ReturnType<typeof startFanout>> | undefined;
  const start = async (options: Parameters<typeof startFanout>[1] = {}) => {
    fanout = await startFanout(emulator(), options);
    return fanout;
  };
  afterEach(async () => {
    await fanout?.stop();
    fanout = undefined;
  });

  test('a push to a matching branch starts one build at that commit with the branch variables', async () => {
    const f = await start({ props: { branches: ['feature/*'] } });
    await f.putEvents([branchEvent('feature/login', commitOf(1))]);
    await f.settle();
    const calls = emulator().calls('codebuild', 'StartBuild');
    expect(calls).toHaveLength(1);
    expect(calls[0].input).toMatchObject({
      projectName: PROJECT,
      sourceVersion: commitOf(1),
      sourceTypeOverride: 'CODECOMMIT',
      sourceLocationOverride: `https://git-codecommit.us-east-1.amazonaws.com/v1/repos/${REPOSITORY}`,
      environmentVariablesOverride: [
        { name: 'FANOUT_REPOSITORY', value: REPOSITORY, type: 'PLAINTEXT' },
        { name: 'FANOUT_BRANCH', value: 'feature/login', type: 'PLAINTEXT' },
        { name: 'FANOUT_COMMIT', value: commitOf(1), type: 'PLAINTEXT' },
      ],
    });
    expect(calls[0].input.idempotencyToken).toMatch(/^[0-9a-f]{64}$/);
    expect(await f.deadLetters()).toEqual([]);
  });

  test('a tag push, a deletion, an excluded branch and a branch only the code filter rejects start nothing', async () => {
    const f = await start({ props: { branches: ['feature/*', 'release/?.x', '!feature/wip'] } });
    await f.putEvents([
      branchEvent('v1.0.0', commitOf(1), { referenceType: 'tag', event: 'referenceCreated' }),
      branchEvent('feature/old', commitOf(2), { event: 'referenceDeleted' }),
      branchEvent('feature/wip', commitOf(3)),
      branchEvent('main', commitOf(4)),
      // The rule matches `release/*.x`; the intake function applies `release/?.x` itself.
      branchEvent('release/10.x', commitOf(5)),
      branchEvent('release/2.x', commitOf(6)),
    ]);
    await f.settle();
    expect(f.intake.stats.received).toBe(2);
    expect(emulator().calls('codebuild', 'StartBuild').map(c => c.input.sourceVersion)).toEqual([commitOf(6)]);
  });

  test('the same push delivered twice, and again after the FIFO deduplication window, starts one build', async () => {
    const f = await start();
    const push = branchEvent('feature/a', commitOf(1), { time: new Date('2026-12-01T08:00:00Z') });
    // Two PutEvents: two event ids, one push. The dispatch queue deduplicates it by repository, branch and commit.
    await f.putEvents([push, push]);
    await f.settle();
    // A redelivery after the queue's 5-minute window (a new deduplication id): the ledger holds the push.
    const body = JSON.stringify({ kind: 'push', repository: REPOSITORY, branch: 'feature/a', commit: commitOf(1), pushedAt: '2026-12-01T08:00:00Z', source: 'event' });
    await emulator().client(SQSClient).send(new SendMessageCommand({
      QueueUrl: f.urls.queueUrl, MessageBody: body, MessageGroupId: 'g', MessageDeduplicationId: 'after-the-window',
    }));
    await f.settle();
    expect(f.intake.stats.deleted).toBe(2);
    expect(f.dispatch.stats.deleted).toBe(2);
    expect(f.codebuild.builds).toHaveLength(1);
    expect(emulator().calls('codebuild', 'StartBuild')).toHaveLength(1);
  });

  test('with half of the StartBuild calls throttled, every push is built exactly once, in order per branch, none in the dead-letter queue', async () => {
    // No backoff here: throttled messages come back at once (the backoff itself is asserted on its own).
    const f = await start({ props: { retryBackoff: Duration.seconds(0) } });
    let call = 0;
    f.codebuild.refuse = () => (call++ % 2 === 0 ? (call % 4 === 1 ? throttled : queueFull) : undefined);
    const branches = ['feature/a', 'feature/b', 'feature/c', 'bugfix/d'];
    const pushes = branches.flatMap(branch => [1, 2, 3].map(n => ({ branch, commit: commitOf(`${branch}-${n}`) })));
    await f.putEvents(pushes.map(p => branchEvent(p.branch, p.commit)));
    await f.settle();
    expect(call).toBeGreaterThanOrEqual(pushes.length * 2 - 1);
    expect(f.codebuild.builds.map(b => b.sourceVersion).sort()).toEqual(pushes.map(p => p.commit).sort());
    for (const branch of branches) {
      expect(f.codebuild.buildsOf(branch).map(b => b.sourceVersion)).toEqual(pushes.filter(p => p.branch === branch).map(p => p.commit));
    }
    expect(await f.deadLetters()).toEqual([]);
    // Throttled messages came back more often than maxReceiveCount (3) allows for messages that can never succeed.
    expect(f.dispatch.stats.failed).toBeGreaterThan(0);
  });

  test('three quick pushes to one branch with superseding on: the first two builds stopped, the last running; other branches unaffected; main never stopped', async () => {
    const f = await start({ props: { supersede: true } });
    await f.putEvents([
      branchEvent('feature/a', commitOf('a1')), branchEvent('feature/b', commitOf('b1')),
      branchEvent('feature/a', commitOf('a2')), branchEvent('main', commitOf('m1')),
      branchEvent('feature/a', commitOf('a3')), branchEvent('main', commitOf('m2')),
    ]);
    await f.settle();
    expect(f.codebuild.buildsOf('feature/a').map(b => [b.sourceVersion, b.status])).toEqual([
      [commitOf('a1'), 'STOPPED'], [commitOf('a2'), 'STOPPED'], [commitOf('a3'), 'IN_PROGRESS'],
    ]);
    expect(f.codebuild.buildsOf('feature/b').map(b => b.status)).toEqual(['IN_PROGRESS']);
    expect(f.codebuild.buildsOf('main').map(b => b.status)).toEqual(['IN_PROGRESS', 'IN_PROGRESS']);
    expect(emulator().calls('codebuild', 'StopBuild')).toHaveLength(2);
  });

  test('a deleted branch\'s running build is stopped with stopOnBranchDeletion', async () => {
    const f = await start({ props: { stopOnBranchDeletion: true } });
    await f.putEvents([branchEvent('feature/a', commitOf(1)), branchEvent('feature/b', commitOf(2))]);
    await f.settle();
    await f.putEvents([branchEvent('feature/a', commitOf(1), { event: 'referenceDeleted' })]);
    await f.settle();
    expect(f.codebuild.buildsOf('feature/a').map(b => b.status)).toEqual(['STOPPED']);
    expect(f.codebuild.buildsOf('feature/b').map(b => b.status)).toEqual(['IN_PROGRESS']);
  });

  test('a malformed message goes to the dead-letter queue after the configured receives; the alarm watches that queue', async () => {
    const f = await start({ props: { maxReceiveCount: 2 } });
    await emulator().client(SQSClient).send(new SendMessageCommand({
      QueueUrl: f.urls.queueUrl, MessageBody: '{"kind":"push","branch":"x"}', MessageGroupId: 'g', MessageDeduplicationId: 'bad',
    }));
    await f.putEvents([branchEvent('feature/a', commitOf(1))]);
    await f.settle();
    expect(await f.deadLetters()).toEqual(['{"kind":"push","branch":"x"}']);
    expect(f.dispatch.stats.failed).toBe(1);
    expect(f.codebuild.builds).toHaveLength(1);
    const alarm = Object.values(Template.fromJSON(f.template).findResources('AWS::CloudWatch::Alarm'))[0] as any;
    expect(alarm.Properties).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [expect.stringMatching(/^BranchesDeadLetterQueue/), 'QueueName'] } }],
    });
  });

  test('the sweep dispatches a branch head whose event was lost, and nothing for heads the ledger holds', async () => {
    const f = await start({ props: { sweepInterval: Duration.minutes(5), branches: ['feature/*'] } });
    await f.putEvents([branchEvent('feature/a', commitOf('a1'))]);
    await f.settle();
    const heads: Record<string, string> = { 'feature/a': commitOf('a1'), 'feature/lost': commitOf('lost'), 'main': commitOf('m') };
    emulator().script('codecommit', 'ListBranches', { body: { branches: Object.keys(heads) } });
    emulator().script('codecommit', 'GetBranch', input => ({ body: { branch: { branchName: input.branchName, commitId: heads[input.branchName] } } }));
    // Committed an hour ago: the sweep leaves heads younger than 10 minutes to their events.
    emulator().script('codecommit', 'GetCommit', { body: { commit: { committer: { date: `${Math.floor(Date.now() / 1000) - 3600} +0000` } } } });
    const result = await emulator().invokeHandler(handlerAsset('branch-build-fanout', 'sweep'), {}, { functionName: 'sweep' }, f.sweepEnvironment);
    expect(result).toEqual({ checked: 2, dispatched: 1 });
    await f.settle();
    expect(f.codebuild.builds.map(b => [b.variables.FANOUT_BRANCH, b.sourceVersion])).toEqual([
      ['feature/a', commitOf('a1')], ['feature/lost', commitOf('lost')],
    ]);
  });
});
