import { BatchGetBuildsCommand, CodeBuildClient, ListBuildsForProjectCommand, StartBuildCommand, StopBuildCommand } from '@aws-sdk/client-codebuild';
import { CodeCommitClient, GetBranchCommand, GetCommitCommand, ListBranchesCommand } from '@aws-sdk/client-codecommit';
import { CodePipelineClient, StartPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { dispatch, intake, sweep } from '../../../lambda-src/branch-build-fanout/handlers';
import { deduplicationIdOf, groupIdOf } from '../../../lambda-src/branch-build-fanout/messages';
import { backoffSeconds, MAX_BACKOFF_SECONDS, RECORD_TIME_MS, RETURN_MARGIN_MS } from '../../../lambda-src/branch-build-fanout/sqs-batch';
import { isTransient } from '../../../lambda-src/branch-build-fanout/transient';
import { InputError } from '../../../lambda-src/core/errors';
import { branchMatches } from '../../../src/branch-build-fanout/private/branch-globs';

const sqs = mockClient(SQSClient);
const dynamodb = mockClient(DynamoDBClient);
const codebuild = mockClient(CodeBuildClient);
const codepipeline = mockClient(CodePipelineClient);
const codecommit = mockClient(CodeCommitClient);

const C1 = 'a'.repeat(40);
const C2 = 'b'.repeat(40);
const config = {
  repositories: ['app'],
  branches: ['feature/*', '!feature/wip'],
  protectedBranches: ['main'],
  supersede: true,
  stopOnBranchDeletion: true,
  target: { type: 'codebuild', projectName: 'app-branches' },
  ledgerTable: 'ledger',
  intakeQueueUrl: 'https://sqs.us-east-1.amazonaws.com/1/intake.fifo',
  queueUrl: 'https://sqs.us-east-1.amazonaws.com/1/queue.fifo',
  deadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/1/dlq.fifo',
  maxReceiveCount: 3,
  retryBackoffSeconds: 10,
};
const awsError = (name: string, httpStatusCode = 400) => Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode } });
const push = (branch: string, commit: string, extra: object = {}) => ({ kind: 'push', repository: 'app', branch, commit, pushedAt: '2026-12-01T08:00:00Z', source: 'event', ...extra });

let sequence = 0;
function record(body: unknown, group = 'g', receives = 1): SQSRecord {
  return {
    messageId: `m${++sequence}`,
    receiptHandle: `r${sequence}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: { ApproximateReceiveCount: String(receives), SentTimestamp: '0', SenderId: 's', ApproximateFirstReceiveTimestamp: '0', MessageGroupId: group },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:1:q.fifo',
    awsRegion: 'us-east-1',
  } as SQSRecord;
}
function codeCommitEvent(detail: object) {
  return { 'time': '2026-12-01T08:00:00Z', 'detail-type': 'CodeCommit Repository State Change', 'detail': { repositoryName: 'app', referenceType: 'branch', event: 'referenceUpdated', ...detail } };
}

beforeEach(() => {
  for (const mock of [sqs, dynamodb, codebuild, codepipeline, codecommit]) mock.reset();
  process.env.FANOUT_CONFIG = JSON.stringify(config);
  sqs.onAnyCommand().resolves({});
  dynamodb.onAnyCommand().resolves({});
  let build = 0;
  codebuild.on(StartBuildCommand).callsFake(() => ({ build: { id: `app-branches:${++build}` } }));
  codebuild.on(BatchGetBuildsCommand).resolves({ builds: [{ id: 'x', buildStatus: 'IN_PROGRESS' }] });
});

describe('intake', () => {
  test('queues a matching branch push in the branch\'s group, deduplicated by commit', async () => {
    await expect(intake({ Records: [record(codeCommitEvent({ referenceName: 'feature/a', commitId: C1 }))] })).resolves.toEqual({ batchItemFailures: [] });
    const sent = sqs.commandCalls(SendMessageCommand)[0].args[0].input;
    const message = push('feature/a', C1);
    expect(JSON.parse(sent.MessageBody!)).toEqual(message);
    expect(sent).toMatchObject({ QueueUrl: config.queueUrl, MessageGroupId: groupIdOf('app', 'feature/a'), MessageDeduplicationId: deduplicationIdOf(message as any) });
  });

  test('ignores tags, other repositories and excluded branches; queues deletions when they stop builds', async () => {
    await intake({
      Records: [
        record(codeCommitEvent({ referenceType: 'tag', referenceName: 'v1', commitId: C1 })),
        record(codeCommitEvent({ repositoryName: 'other', referenceName: 'feature/a', commitId: C1 })),
        record(codeCommitEvent({ referenceName: 'feature/wip', commitId: C1 })),
        record(codeCommitEvent({ event: 'referenceDeleted', referenceName: 'feature/a', oldCommitId: C2 })),
      ],
    });
    expect(sqs.commandCalls(SendMessageCommand).map(c => JSON.parse(c.args[0].input.MessageBody!))).toEqual([{ ...push('feature/a', C2), kind: 'deleted' }]);
  });

  test('a malformed event stays until its receives are used up, then goes to the dead-letter queue', async () => {
    await expect(intake({ Records: [record('{"detail":{}}', 'codecommit', 1)] })).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: `m${sequence}` }] });
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
    await expect(intake({ Records: [record('not json', 'codecommit', 3)] })).resolves.toEqual({ batchItemFailures: [] });
    expect(sqs.commandCalls(SendMessageCommand)[0].args[0].input).toMatchObject({ QueueUrl: config.deadLetterQueueUrl, MessageBody: 'not json', MessageGroupId: 'codecommit' });
  });

  test('a throttled send returns the record and the rest of its group after a backoff', async () => {
    sqs.on(SendMessageCommand).rejects(awsError('RequestThrottled', 400));
    const records = [1, 2].map(() => record(codeCommitEvent({ referenceName: 'feature/a', commitId: C1 }), 'codecommit', 50));
    const answer = await intake({ Records: records });
    expect(answer.batchItemFailures.map(f => f.itemIdentifier)).toEqual(records.map(r => r.messageId));
    const change = sqs.commandCalls(ChangeMessageVisibilityBatchCommand)[0].args[0].input;
    expect(change.QueueUrl).toBe(config.intakeQueueUrl);
    // 50 receives reach the cap; the jitter takes up to a fifth off it.
    for (const entry of change.Entries!) {
      expect(entry.VisibilityTimeout).toBeGreaterThanOrEqual(0.8 * MAX_BACKOFF_SECONDS);
      expect(entry.VisibilityTimeout).toBeLessThanOrEqual(MAX_BACKOFF_SECONDS);
    }
    expect(change.Entries).toHaveLength(2);
    expect(sqs.commandCalls(SendMessageCommand).filter(c => c.args[0].input.QueueUrl === config.deadLetterQueueUrl)).toHaveLength(0);
  });
});

describe('dispatch', () => {
  test('claims the push, starts the build at the commit, records the branch head, marks it started', async () => {
    await expect(dispatch({ Records: [record(push('feature/a', C1))] })).resolves.toEqual({ batchItemFailures: [] });
    expect(dynamodb.commandCalls(PutItemCommand)[0].args[0].input).toMatchObject({ Item: { pk: { S: `app#feature/a#${C1}` }, state: { S: 'starting' } }, ConditionExpression: 'attribute_not_exists(pk)' });
    expect(codebuild.commandCalls(StartBuildCommand)[0].args[0].input).toMatchObject({ projectName: 'app-branches', sourceVersion: C1 });
    expect(dynamodb.commandCalls(UpdateItemCommand)[0].args[0].input.ExpressionAttributeValues).toMatchObject({ ':started': { S: 'started' }, ':buildId': { S: 'app-branches:1' } });
  });

  test('a push the ledger holds as started is skipped; one left starting long ago is looked up before any new start', async () => {
    dynamodb.on(PutItemCommand, { ConditionExpression: 'attribute_not_exists(pk)' }).rejects(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));
    dynamodb.on(GetItemCommand).resolvesOnce({ Item: { state: { S: 'started' }, buildId: { S: 'app-branches:7' } } })
      .resolves({ Item: { state: { S: 'starting' }, claimedAt: { N: String(Date.now() - 10 * 60_000) } } });
    await dispatch({ Records: [record(push('feature/a', C1))] });
    expect(codebuild.commandCalls(StartBuildCommand)).toHaveLength(0);
    codebuild.on(ListBuildsForProjectCommand).resolves({ ids: ['app-branches:9'] });
    codebuild.on(BatchGetBuildsCommand).resolves({ builds: [{ id: 'app-branches:9', sourceVersion: C1, buildStatus: 'SUCCEEDED', environment: { environmentVariables: [{ name: 'FANOUT_BRANCH', value: 'feature/a' }, { name: 'FANOUT_REPOSITORY', value: 'app' }] } } as any] });
    await dispatch({ Records: [record(push('feature/a', C1))] });
    expect(codebuild.commandCalls(StartBuildCommand)).toHaveLength(0);
    expect(dynamodb.commandCalls(UpdateItemCommand)[0].args[0].input.ExpressionAttributeValues).toMatchObject({ ':buildId': { S: 'app-branches:9' } });
  });

  test('a throttled push fails with the rest of its group, after a backoff; another group goes on', async () => {
    codebuild.on(StartBuildCommand, { sourceVersion: C1 }).rejects(awsError('AccountLimitExceededException'));
    const [a1, a2, b1] = [record(push('feature/a', C1), 'a', 1), record(push('feature/a', C2), 'a', 1), record(push('feature/b', C2), 'b', 1)];
    const answer = await dispatch({ Records: [a1, a2, b1] });
    expect(answer.batchItemFailures.map(f => f.itemIdentifier)).toEqual([a1.messageId, a2.messageId]);
    expect(codebuild.commandCalls(StartBuildCommand).map(c => c.args[0].input.environmentVariablesOverride![1].value)).toEqual(['feature/a', 'feature/b']);
    const returned = sqs.commandCalls(ChangeMessageVisibilityBatchCommand)[0].args[0].input.Entries!.map(e => e.ReceiptHandle);
    expect(returned).toEqual([a1.receiptHandle, a2.receiptHandle]);
  });

  test('with too little time left, the records not started come back at once, in order', async () => {
    const records = [record(push('feature/a', C1), 'a'), record(push('feature/a', C2), 'a')];
    let remaining = 20_000;
    codebuild.on(StartBuildCommand).callsFake(() => {
      remaining = 5_000;
      return { build: { id: 'app-branches:1' } };
    });
    const answer = await dispatch({ Records: records }, { getRemainingTimeInMillis: () => remaining } as any);
    expect(answer.batchItemFailures).toEqual([{ itemIdentifier: records[1].messageId }]);
    expect(sqs.commandCalls(ChangeMessageVisibilityBatchCommand)[0].args[0].input.Entries).toEqual([{ Id: '0', ReceiptHandle: records[1].receiptHandle, VisibilityTimeout: 0 }]);
  });

  // Time budgets (fault suite): a record started in time whose calls hang must not run the function into its timeout.
  test('a record whose calls outlast the invocation is given up before the timeout: it and the rest of its group come back at once', async () => {
    const records = [record(push('feature/a', C1), 'a'), record(push('feature/a', C2), 'a'), record(push('feature/b', C2), 'b')];
    codebuild.on(StartBuildCommand, { sourceVersion: C1 }).callsFake(() => new Promise(() => undefined));
    codebuild.on(StartBuildCommand, { sourceVersion: C2 }).resolves({ build: { id: 'app-branches:2' } });
    const deadline = Date.now() + RECORD_TIME_MS + 500;
    const started = Date.now();
    const answer = await dispatch({ Records: records }, { getRemainingTimeInMillis: () => deadline - Date.now() } as any);
    // Returned before the function's timeout, whatever the machine's load delays its timer by.
    expect(Date.now()).toBeLessThan(deadline);
    expect(Date.now() - started).toBeGreaterThanOrEqual(RECORD_TIME_MS + 500 - RETURN_MARGIN_MS - 50);
    expect(answer.batchItemFailures.map(f => f.itemIdentifier)).toEqual([records[0].messageId, records[1].messageId]);
    expect(sqs.commandCalls(ChangeMessageVisibilityBatchCommand)[0].args[0].input.Entries!.map(e => [e.ReceiptHandle, e.VisibilityTimeout]))
      .toEqual([[records[0].receiptHandle, 0], [records[1].receiptHandle, 0]]);
  });

  test('a target that is gone goes to the dead-letter queue once the receives are used up', async () => {
    codebuild.on(StartBuildCommand).rejects(awsError('ResourceNotFoundException'));
    expect((await dispatch({ Records: [record(push('feature/a', C1), 'a', 3)] })).batchItemFailures).toEqual([]);
    expect(sqs.commandCalls(SendMessageCommand)[0].args[0].input).toMatchObject({ QueueUrl: config.deadLetterQueueUrl, MessageGroupId: 'a' });
  });

  test('superseding stops the branch\'s previous running build, never a protected branch\'s; a deletion stops the latest', async () => {
    dynamodb.on(GetItemCommand).resolves({ Item: { buildId: { S: 'app-branches:old' } } });
    await dispatch({ Records: [record(push('feature/a', C1)), record(push('main', C2), 'main')] });
    expect(codebuild.commandCalls(StopBuildCommand).map(c => c.args[0].input.id)).toEqual(['app-branches:old']);
    codebuild.on(StopBuildCommand).rejects(awsError('ResourceNotFoundException'));
    await expect(dispatch({ Records: [record({ ...push('feature/a', C1), kind: 'deleted' })] })).resolves.toEqual({ batchItemFailures: [] });
    expect(codebuild.commandCalls(StopBuildCommand)).toHaveLength(2);
  });

  test('a pipeline target starts an execution at the commit with the branch variable and a request token', async () => {
    process.env.FANOUT_CONFIG = JSON.stringify({ ...config, supersede: false, target: { type: 'pipeline', pipelineName: 'p', sourceActionName: 'Source', branchVariable: 'BRANCH' } });
    codepipeline.on(StartPipelineExecutionCommand).resolves({ pipelineExecutionId: 'e-1' });
    await dispatch({ Records: [record(push('feature/a', C1))] });
    expect(codepipeline.commandCalls(StartPipelineExecutionCommand)[0].args[0].input).toEqual({
      name: 'p',
      sourceRevisions: [{ actionName: 'Source', revisionType: 'COMMIT_ID', revisionValue: C1 }],
      variables: [{ name: 'BRANCH', value: 'feature/a' }],
      clientRequestToken: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });
});

test('sweep: queues the matching heads the ledger does not hold, unless committed in the last 10 minutes', async () => {
  const C3 = 'c'.repeat(40);
  const heads: Record<string, string> = { 'feature/a': C1, 'main': C2, 'feature/b': C2, 'feature/new': C3 };
  codecommit.on(ListBranchesCommand).resolvesOnce({ branches: ['feature/a', 'main'], nextToken: 't' }).resolves({ branches: ['feature/b', 'feature/new'] });
  codecommit.on(GetBranchCommand).callsFake(input => ({ branch: { commitId: heads[input.branchName] } }));
  const epoch = (msAgo: number) => `${Math.floor((Date.now() - msAgo) / 1000)} +0100`;
  codecommit.on(GetCommitCommand).callsFake(input => ({ commit: { committer: { date: epoch(input.commitId === C3 ? 60_000 : 3_600_000) } } }));
  dynamodb.on(GetItemCommand, { Key: { pk: { S: `app#feature/a#${C1}` } } }).resolves({ Item: { pk: { S: 'x' } } });
  await expect(sweep({})).resolves.toEqual({ checked: 3, dispatched: 1 });
  expect(sqs.commandCalls(SendMessageCommand).map(c => JSON.parse(c.args[0].input.MessageBody!))).toEqual([expect.objectContaining({ branch: 'feature/b', commit: C2, source: 'sweep' })]);
});

test('transient errors: throttling, quotas, 5xx, no answer; permanent: input, 4xx, programming errors', () => {
  for (const e of [awsError('ThrottlingException'), awsError('AccountLimitExceededException'), awsError('InternalError', 503),
    Object.assign(new Error('late'), { name: 'TimeoutError' }), new Error('socket hang up')]) expect(isTransient(e)).toBe(true);
  for (const e of [new InputError('bad'), awsError('ResourceNotFoundException'), awsError('AccessDeniedException', 403), new TypeError('x'), 'text']) expect(isTransient(e)).toBe(false);
});

test('backoff doubles per receive, with jitter, up to 4 minutes', () => {
  expect(backoffSeconds(10, 1)).toBeGreaterThanOrEqual(8);
  expect(backoffSeconds(10, 1)).toBeLessThanOrEqual(12);
  expect(backoffSeconds(10, 3)).toBeGreaterThanOrEqual(32);
  expect(backoffSeconds(10, 30)).toBeLessThanOrEqual(MAX_BACKOFF_SECONDS);
  expect(backoffSeconds(10, 30)).toBeGreaterThanOrEqual(MAX_BACKOFF_SECONDS * 0.8);
  expect(backoffSeconds(0, 5)).toBe(0);
});

test('branch globs: `*` spans `/`, `?` one character, `[...]` sets, excludes win', () => {
  expect(branchMatches(['feature/*'], 'feature/a/b')).toBe(true);
  expect(branchMatches(['release/?.x'], 'release/10.x')).toBe(false);
  expect(branchMatches(['hotfix/[0-9]*', '!hotfix/9*'], 'hotfix/1-a')).toBe(true);
  expect(branchMatches(['hotfix/[!0-9]*'], 'hotfix/1-a')).toBe(false);
  expect(branchMatches(['!main'], 'main')).toBe(false);
  expect(branchMatches(['!main'], 'dev')).toBe(true);
  expect(branchMatches(['a.b'], 'axb')).toBe(false);
});
