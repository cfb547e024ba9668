import { Duration } from 'aws-cdk-lib';
import { amiRunHelpers, refreshAnswer, RUN, statesEntered, stepsInvoked } from './emulator-run';
import { dynamoDbCounts } from '../emulator/call-counts';
import { Emulator, ExecutionResult, RecordedCall } from '../emulator/harness';

/*
 * The cost of one AmiRefreshStage run with a long bake and a long refresh, counted from an emulator
 * history: state transitions (states entered), Lambda invocations (the state machine's steps, the
 * event function, the pipeline action and its renewed jobs) and backstop polls. Real waits are
 * scaled down: `scale` seconds of the run take one second here, and the backstop interval and the
 * job renewal age shrink by the same factor.
 * The bake and the refresh end by the run's own progress, not by the clock: each one ends while the
 * run is parked after its last backstop poll inside the duration (bake / backstop polls), and its
 * event is then handed to the event function as EventBridge would. So the poll counts are those of
 * the real durations however slow the machine is; only the job renewals follow the clock (the age
 * of the job), and a backstop cycle would have to take 4 s longer than its interval to change them.
 */

export interface RunFigureOptions {
  /** Real duration of the bake, in minutes. */
  readonly bakeMinutes: number;
  /** Real duration of the instance refresh, in minutes. */
  readonly refreshMinutes: number;
  /** Real backstop interval, in minutes (the stage's default is 5). */
  readonly backstopMinutes?: number;
  /** Real seconds per emulated second. */
  readonly scale?: number;
}

export interface RunFigures {
  readonly stateTransitions: number;
  readonly historyEvents: number;
  readonly stateMachineInvocations: number;
  readonly steps: string[];
  readonly eventFunctionInvocations: number;
  readonly actionInvocations: number;
  readonly imagePolls: number;
  readonly refreshPolls: number;
  readonly jobRenewals: number;
  /** DynamoDB calls of the run (handlers and the state machine's own tasks): writes and reads. */
  readonly dynamoDbWrites: number;
  readonly dynamoDbReads: number;
  readonly outcome: 'success' | 'failure';
  /** The execution's history (GetExecutionHistory). */
  readonly history: ExecutionResult['history'];
}

/** Runs the stage once on the emulator with the scaled waits and counts what it cost. Call inside `describeWithEmulator`. */
export async function measureRun(emulator: () => Emulator, options: RunFigureOptions): Promise<RunFigures> {
  const scale = options.scale ?? 60;
  const backstopSeconds = ((options.backstopMinutes ?? 5) * 60) / scale;
  const renewEnv = process.env.JOB_RENEW_AFTER_MS;
  // The job is renewed when it is 9 minutes old: 9 emulated seconds at a scale of 60.
  process.env.JOB_RENEW_AFTER_MS = String((9 * 60 * 1000) / scale);
  try {
    const { prepare, startRun, deliverToEventFunction, pipelineJob, onlyResult } = amiRunHelpers(emulator);
    const s = await prepare({ instanceRefresh: {}, backstopInterval: Duration.seconds(backstopSeconds) });
    let eventFunctionInvocations = 0;
    let actionInvocations = 0;

    let imageReady = false;
    let refreshDone = false;
    emulator().script('ec2', 'DescribeImages', (input: any) => {
      if (!input['ImageId.1'] || imageReady) return undefined;
      return { body: { imagesSet: [{ imageId: input['ImageId.1'], name: 'web', imageState: 'pending' }] } };
    });
    emulator().script('autoscaling', 'StartInstanceRefresh', { body: { InstanceRefreshId: 'r-1' } });
    emulator().script('autoscaling', 'DescribeInstanceRefreshes', (input: any) => {
      if (input['InstanceRefreshIds.member.1'] !== 'r-1') return { body: { InstanceRefreshes: [] } };
      return refreshAnswer('r-1', refreshDone ? 'Successful' : 'InProgress');
    });
    // Each renewal of the job (PutJobSuccessResult with a continuation token) makes CodePipeline invoke the action again.
    let renewals = 0;
    const renewedJobs: Array<Promise<unknown>> = [];
    emulator().script('codepipeline', 'PutJobSuccessResult', (input: any) => {
      if (input.continuationToken) {
        renewals++;
        actionInvocations++;
        renewedJobs.push(emulator().invokeHandler(RUN, pipelineJob(s, `job-1-renewed-${renewals}`, input.continuationToken), {}, { TABLE_NAME: s.tableName }));
      }
      return { body: {} };
    });

    const callsBefore = emulator().calls().length;
    const { executionArn } = await startRun(s);
    actionInvocations++;
    const imageId = (await parkedAfterPolls(emulator(), 'image#', cycles(options.bakeMinutes, options))).slice('image#'.length);
    imageReady = true;
    eventFunctionInvocations++;
    await deliverToEventFunction(s, { 'source': 'aws.ec2', 'detail-type': 'EC2 AMI State Change', 'detail': { ImageId: imageId, State: 'available' } });
    await parkedAfterPolls(emulator(), 'refresh#', cycles(options.refreshMinutes, options));
    refreshDone = true;
    eventFunctionInvocations++;
    await deliverToEventFunction(s, {
      'source': 'aws.autoscaling',
      'detail-type': 'EC2 Auto Scaling Instance Refresh Succeeded',
      'detail': { InstanceRefreshId: 'r-1', AutoScalingGroupName: 'web' },
    });
    const result = await emulator().waitForExecution(executionArn);
    await Promise.all(renewedJobs);
    const calls = emulator().calls().slice(callsBefore);
    const states = statesEntered(result);
    const steps = stepsInvoked(calls);
    return {
      stateTransitions: states.length,
      historyEvents: result.history.length,
      stateMachineInvocations: steps.length,
      steps,
      eventFunctionInvocations,
      actionInvocations,
      imagePolls: states.filter(n => n === 'ImagePoll').length,
      refreshPolls: states.filter(n => n === 'RefreshPoll').length,
      jobRenewals: renewals,
      ...dynamoDbCounts(calls),
      outcome: onlyResult().kind,
      history: result.history,
    };
  } finally {
    if (renewEnv === undefined) delete process.env.JOB_RENEW_AFTER_MS;
    else process.env.JOB_RENEW_AFTER_MS = renewEnv;
  }
}

/** The backstop polls that fall inside `minutes` of waiting (the first one when the wait starts). */
function cycles(minutes: number, options: RunFigureOptions): number {
  return Math.max(1, Math.ceil(minutes / (options.backstopMinutes ?? 5)));
}

/**
 * The key of the park that followed the wait's `polls`-th poll, once that park's token is stored:
 * counted from the recorded calls, so a park that happened before this wait began counts too.
 */
async function parkedAfterPolls(emulator: Emulator, keyPrefix: string, polls: number): Promise<string> {
  const isPark = (c: RecordedCall) => String(c.input.Item?.pk?.S).startsWith(keyPrefix) && Boolean(c.input.Item?.taskToken?.S);
  const parks = await emulator.waitForCalls('dynamodb', 'PutItem', isPark, polls);
  const { TableName, Item } = parks[polls - 1].input;
  await emulator.waitForItem(TableName, { pk: Item.pk }, stored => stored.taskToken?.S === Item.taskToken.S);
  return Item.pk.S;
}
