import { createHash } from 'crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand, PutEventsRequestEntry, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { FakeCodeBuild } from './fake-codebuild';
import { fanoutWith } from './fixtures';
import { BranchBuildFanoutProps } from '../../src';
import { Emulator, HANG_LIMIT_MS, handlerAsset } from '../emulator/harness';
import { SqsPoller } from '../emulator/sqs-poller';
import { TemplateFunction, TemplateResolver } from '../emulator/template-resolver';

/*
 * A BranchBuildFanout on moto, built from its synthesized template: its queues (FIFO, content-based
 * deduplication on intake, redrive to the dead-letter queue), ledger table and EventBridge rule
 * with its SQS FIFO target are created in moto as the template defines them; CodeBuild is a
 * scripted fake (fake-codebuild.ts says why). Two pollers play the event source mappings and run the bundled intake and
 * dispatch handlers. Pushes go through moto's EventBridge (PutEvents).
 *
 * One difference from the template: the queues' visibility timeout (180 s there) is `visibilitySeconds`
 * here, so that a message whose handler crashed comes back within a test.
 */

export const REPOSITORY = 'app';
export const PROJECT = 'app-branches';

export interface FanoutRunOptions {
  readonly props?: Partial<BranchBuildFanoutProps>;
  /** @default 10 */
  readonly visibilitySeconds?: number;
  /** Dispatch invocations at once. @default 10 */
  readonly concurrency?: number;
}

export function commitOf(n: number | string): string {
  return createHash('sha1').update(String(n)).digest('hex');
}

export async function startFanout(emulator: Emulator, options: FanoutRunOptions = {}) {
  const { stack } = fanoutWith({ retryBackoff: Duration.seconds(1), ...options.props });
  const template = Template.fromStack(stack).toJSON();
  const resolver = new TemplateResolver(template, emulator.region);
  const resources: Record<string, any> = template.Resources;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const queueId = (part: string) => ofType('AWS::SQS::Queue').find(([id]) => id.startsWith(`Branches${part}`))![0];
  // The SQS client sends a call to its QueueUrl's host: the queues' URLs point at the emulator.
  const toEmulator = (text: string) => text.split(`https://sqs.${emulator.region}.amazonaws.com`).join(emulator.endpoint);
  const environmentOf = (fn: TemplateFunction) => ({
    environment: Object.fromEntries(Object.entries(fn.environment).map(([k, v]) => [k, toEmulator(v)])),
  });
  const functionOf = (part: string) => resolver.functions().find(f => f.logicalId.startsWith(`Branches${part}Function`))!;

  const sqs = emulator.client(SQSClient);
  const visibility = String(options.visibilitySeconds ?? 10);
  const createQueue = async (logicalId: string) => {
    const props = resources[logicalId].Properties;
    const url = toEmulator(resolver.resolve({ Ref: logicalId }));
    const attributes: Record<string, string> = { FifoQueue: 'true', VisibilityTimeout: visibility };
    if (props.ContentBasedDeduplication) attributes.ContentBasedDeduplication = 'true';
    if (props.DeduplicationScope) attributes.DeduplicationScope = props.DeduplicationScope;
    if (props.FifoThroughputLimit) attributes.FifoThroughputLimit = props.FifoThroughputLimit;
    if (props.RedrivePolicy) attributes.RedrivePolicy = JSON.stringify(resolver.resolve(props.RedrivePolicy));
    await sqs.send(new CreateQueueCommand({ QueueName: url.split('/').pop(), Attributes: attributes }));
    return url;
  };
  const deadLetterQueueUrl = await createQueue(queueId('DeadLetterQueue'));
  const intakeQueueUrl = await createQueue(queueId('IntakeQueue'));
  const queueUrl = await createQueue(queueId('Queue'));

  const ledgerTable: string = resolver.resolve({ Ref: ofType('AWS::DynamoDB::Table')[0][0] });
  await emulator.client(DynamoDBClient).send(new CreateTableCommand({
    TableName: ledgerTable,
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
  const codebuild = new FakeCodeBuild(emulator);

  const events = emulator.client(EventBridgeClient);
  const [ruleId, rule] = ofType('AWS::Events::Rule').find(([id]) => id.startsWith('BranchesRule'))!;
  await events.send(new PutRuleCommand({ Name: ruleId, EventPattern: JSON.stringify(resolver.resolve(rule.Properties.EventPattern)) }));
  await events.send(new PutTargetsCommand({
    Rule: ruleId,
    Targets: rule.Properties.Targets.map((t: any) => ({ Id: t.Id, Arn: resolver.resolve(t.Arn), SqsParameters: t.SqsParameters })),
  }));

  const intakeFn = environmentOf(functionOf('Intake'));
  const dispatchFn = environmentOf(functionOf('Dispatch'));
  const intake = new SqsPoller(emulator, {
    queueUrl: intakeQueueUrl, handler: handlerAsset('branch-build-fanout', 'intake'), functionName: 'intake', environment: intakeFn.environment, concurrency: 2,
  });
  const dispatch = new SqsPoller(emulator, {
    queueUrl,
    handler: handlerAsset('branch-build-fanout', 'dispatch'),
    functionName: 'dispatch',
    environment: dispatchFn.environment,
    concurrency: options.concurrency ?? 10,
  });
  await intake.start();
  await dispatch.start();

  /** Sends CodeCommit events through moto's EventBridge, 10 per call. */
  async function putEvents(entries: PutEventsRequestEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += 10) {
      const answer = await events.send(new PutEventsCommand({ Entries: entries.slice(i, i + 10) }));
      if (answer.FailedEntryCount) throw new Error(`PutEvents failed for ${answer.FailedEntryCount} entries`);
    }
  }

  /**
   * Waits until both queues are empty and no handler runs (checked twice in a row). It fails only
   * when nothing moved for `hangMs` (no message received, deleted or failed): a slow machine takes
   * longer, a stuck fanout fails.
   */
  async function settle(hangMs = HANG_LIMIT_MS): Promise<void> {
    let progress = '';
    let movedAt = Date.now();
    let quiet = 0;
    while (quiet < 2) {
      const now = JSON.stringify([intake.stats, dispatch.stats]);
      if (now !== progress) {
        progress = now;
        movedAt = Date.now();
      } else if (Date.now() - movedAt > hangMs) {
        throw new Error(`the fanout made no progress for ${hangMs} ms: intake ${JSON.stringify(intake.stats)}, dispatch ${JSON.stringify(dispatch.stats)}`);
      }
      quiet = (await intake.idle()) && (await dispatch.idle()) ? quiet + 1 : 0;
      await new Promise(resolve => setTimeout(resolve, 200));
    }
  }

  async function deadLetters(): Promise<string[]> {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: deadLetterQueueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }));
    return Messages.map(m => m.Body!);
  }

  async function queueDepth(url: string): Promise<number> {
    const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
  }

  async function stop(): Promise<void> {
    await Promise.all([intake.stop(), dispatch.stop()]);
  }

  return {
    template,
    resolver,
    codebuild,
    intake,
    dispatch,
    putEvents,
    settle,
    deadLetters,
    queueDepth,
    stop,
    urls: { intakeQueueUrl, queueUrl, deadLetterQueueUrl },
    ledgerTable,
    sweepEnvironment: resolver.functions().some(f => f.logicalId.startsWith('BranchesSweepFunction'))
      ? environmentOf(functionOf('Sweep')).environment : undefined,
  };
}

/** A `CodeCommit Repository State Change` event entry for PutEvents. */
export function branchEvent(branch: string, commit: string, options: {
  event?: 'referenceCreated' | 'referenceUpdated' | 'referenceDeleted'; referenceType?: 'branch' | 'tag'; repository?: string; time?: Date;
} = {}): PutEventsRequestEntry {
  const repository = options.repository ?? REPOSITORY;
  const referenceType = options.referenceType ?? 'branch';
  const event = options.event ?? 'referenceUpdated';
  return {
    Source: 'aws.codecommit',
    DetailType: 'CodeCommit Repository State Change',
    Resources: [`arn:aws:codecommit:us-east-1:123456789012:${repository}`],
    Time: options.time,
    Detail: JSON.stringify({
      callerUserArn: 'arn:aws:iam::123456789012:user/dev',
      event,
      referenceType,
      referenceName: branch,
      referenceFullName: `refs/${referenceType === 'branch' ? 'heads' : 'tags'}/${branch}`,
      repositoryName: repository,
      repositoryId: '12345678-1234-1234-1234-123456789012',
      ...(event === 'referenceDeleted' ? { oldCommitId: commit } : { commitId: commit }),
    }),
  };
}
