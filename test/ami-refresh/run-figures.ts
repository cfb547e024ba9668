import { Duration } from 'aws-cdk-lib';
import { amiRunHelpers, refreshAnswer, RUN, statesEntered, stepsInvoked } from './emulator-run';
import { dynamoDbCounts } from '../emulator/call-counts';
import { Emulator, ExecutionResult } from '../emulator/harness';

/*
 * The cost of one AmiRefreshStage run with a long bake and a long refresh, counted from an emulator
 * history: state transitions (states entered), Lambda invocations (the state machine's steps, the
 * event function, the pipeline action and its renewed jobs) and backstop polls. Real waits are
 * scaled down: `scale` seconds of the run take one second here, and the backstop interval and the
 * job renewal age shrink by the same factor, so the counts are those of the real durations.
 * The image and the refresh report their end by event (as EventBridge would), at the end of their time.
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

    const bakeMs = (options.bakeMinutes * 60 * 1000) / scale;
    const refreshMs = (options.refreshMinutes * 60 * 1000) / scale;
    let imageReadyAt = Infinity;
    let refreshDoneAt = Infinity;
    emulator().script('ec2', 'DescribeImages', (input: any) => {
      if (!input['ImageId.1'] || Date.now() >= imageReadyAt) return undefined;
      return { body: { imagesSet: [{ imageId: input['ImageId.1'], name: 'web', imageState: 'pending' }] } };
    });
    emulator().script('autoscaling', 'StartInstanceRefresh', () => {
      refreshDoneAt = Date.now() + refreshMs;
      return { body: { InstanceRefreshId: 'r-1' } };
    });
    emulator().script('autoscaling', 'DescribeInstanceRefreshes', (input: any) => {
      if (input['InstanceRefreshIds.member.1'] !== 'r-1') return { body: { InstanceRefreshes: [] } };
      return refreshAnswer('r-1', Date.now() >= refreshDoneAt ? 'Successful' : 'InProgress');
    });
    // Each renewal of the job (PutJobSuccessResult with a continuation token) makes CodePipeline invoke the action again.
    let renewals = 0;
    emulator().script('codepipeline', 'PutJobSuccessResult', (input: any) => {
      if (input.continuationToken) {
        renewals++;
        setTimeout(() => {
          actionInvocations++;
          void emulator().invokeHandler(RUN, pipelineJob(s, `job-1-renewed-${renewals}`, input.continuationToken), {}, { TABLE_NAME: s.tableName });
        }, 100);
      }
      return { body: {} };
    });

    const callsBefore = emulator().calls().length;
    imageReadyAt = Date.now() + bakeMs;
    const { executionArn } = await startRun(s);
    actionInvocations++;
    await sleepUntil(imageReadyAt);
    const imageId = await parkedImageId(emulator());
    eventFunctionInvocations++;
    await deliverToEventFunction(s, { 'source': 'aws.ec2', 'detail-type': 'EC2 AMI State Change', 'detail': { ImageId: imageId, State: 'available' } });
    await emulator().waitForCall('autoscaling', 'StartInstanceRefresh', () => true, 60_000);
    await sleepUntil(refreshDoneAt);
    eventFunctionInvocations++;
    await deliverToEventFunction(s, {
      'source': 'aws.autoscaling',
      'detail-type': 'EC2 Auto Scaling Instance Refresh Succeeded',
      'detail': { InstanceRefreshId: 'r-1', AutoScalingGroupName: 'web' },
    });
    const result = await emulator().waitForExecution(executionArn, 120_000);
    await new Promise(resolve => setTimeout(resolve, 300));
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

/** The image the run parked on (the key of its task token), once the token is stored. */
async function parkedImageId(emulator: Emulator): Promise<string> {
  const isImagePark = (pk: unknown) => typeof pk === 'string' && pk.startsWith('image#');
  const park = await emulator.waitForCall('dynamodb', 'PutItem', c => isImagePark(c.input.Item?.pk?.S) && Boolean(c.input.Item?.taskToken?.S), 60_000);
  const key: string = park.input.Item.pk.S;
  await emulator.waitForItem(park.input.TableName, { pk: { S: key } });
  return key.slice('image#'.length);
}

function sleepUntil(time: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, Math.max(0, time - Date.now())));
}
