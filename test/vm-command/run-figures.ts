import { Duration } from 'aws-cdk-lib';
import { A, B, RUN, statesEntered, stepsInvoked, vmRunHelpers } from './emulator-run';
import { seedDesign } from './seed-design';
import { dynamoDbCounts } from '../emulator/call-counts';
import { Emulator, ExecutionResult, RecordedCall } from '../emulator/harness';

/*
 * What one VmCommandStage run costs, against the seed design (seed-design.ts), for a command that
 * runs `commandMinutes` on two instances, counted from the emulator's execution history and call
 * records. The same scripted SSM command serves both (moto says Success at once; here it is
 * InProgress until its time has passed, then Success).
 * - The stage: real waits scaled down (`scale` real seconds per emulated second; the backstop
 *   interval and the job renewal age shrink by the same factor). The command ends by the run's own
 *   progress, not by the clock: while the run is parked after its last backstop poll inside the
 *   command's time (command / backstop polls); SSM's status-change event is then handed to the
 *   event function, as EventBridge would. So the counts are those of the real durations however
 *   slow the machine is; only the job renewal follows the clock (the job's age), and a backstop
 *   cycle would have to take 4 s longer than its interval to change it.
 * - The seed design: its Wait is configured to 0 s and the command's clock advances by the
 *   design's 10 s at each poll, so the counts are those of the real durations.
 * Detection latency: from the command's final status (the event, or the poll that saw it) to the
 * job result; the seed design adds the rest of its Wait (0-10 s) before that poll.
 */

export interface VmRunFigures {
  readonly stateTransitions: number;
  /** The state machine's invocations, the event function's and the pipeline action's (with its renewed jobs). */
  readonly lambdaInvocations: number;
  readonly dynamoDbWrites: number;
  readonly dynamoDbReads: number;
  readonly ssmCalls: number;
  readonly jobRenewals: number;
  /** Waits for the command that ended by their timeout (the backstop), not by the event. */
  readonly backstopPolls: number;
  readonly detectionMs: number;
  readonly outcome: 'success' | 'failure';
  /** The execution's history (GetExecutionHistory). */
  readonly history: ExecutionResult['history'];
}

function outcomeOf(calls: RecordedCall[]): 'success' | 'failure' {
  const results = calls.filter(c => c.service === 'codepipeline' && !c.input.continuationToken
    && (c.operation === 'PutJobSuccessResult' || c.operation === 'PutJobFailureResult'));
  if (results.length !== 1) throw new Error(`expected exactly one job result, got ${results.length}`);
  return results[0].operation === 'PutJobSuccessResult' ? 'success' : 'failure';
}

/** The command's result on each instance: InProgress until `finished()` says it is over, then Success. */
function scriptCommand(emulator: Emulator, finished: (instanceId: string) => boolean, onFinal: () => void = () => undefined) {
  emulator.script('ssm', 'GetCommandInvocation', (input: any) => {
    const done = finished(input.InstanceId);
    if (done) onFinal();
    return { body: { CommandId: input.CommandId, InstanceId: input.InstanceId, Status: done ? 'Success' : 'InProgress' } };
  });
}

/** One VmCommandStage run (the stage's own template and bundled handlers). Resets the emulator first. */
export async function measureVmRun(
  emulator: Emulator, options: { commandMinutes: number; backstopMinutes?: number; scale?: number; executionTimeout?: Duration },
): Promise<VmRunFigures> {
  await emulator.reset();
  const scale = options.scale ?? 60;
  const renewEnv = process.env.JOB_RENEW_AFTER_MS;
  // The job is renewed when it is 9 minutes old (read when the handlers load, after the reset).
  process.env.JOB_RENEW_AFTER_MS = String((9 * 60 * 1000) / scale);
  try {
    const { prepare, pipelineJob, startRun, notifyFinished, recordedCommandId, parked } = vmRunHelpers(() => emulator);
    const backstopSeconds = ((options.backstopMinutes ?? 5) * 60) / scale;
    const s = await prepare({ backstopInterval: Duration.seconds(backstopSeconds), executionTimeout: options.executionTimeout ?? Duration.hours(1) });
    let commandEnded = false;
    scriptCommand(emulator, () => commandEnded);
    let renewals = 0;
    const renewedJobs: Array<Promise<unknown>> = [];
    emulator.script('codepipeline', 'PutJobSuccessResult', (input: any) => {
      if (input.continuationToken) {
        // CodePipeline hands the action a new job carrying the token.
        renewals++;
        const job = pipelineJob(s, `job-1-renewed-${renewals}`);
        (job['CodePipeline.job'].data as any).continuationToken = input.continuationToken;
        renewedJobs.push(emulator.invokeHandler(RUN, job, {}, { TABLE_NAME: s.tableName }));
      }
      return { body: {} };
    });

    const { executionArn } = await startRun(s);
    const commandId = await recordedCommandId();
    await parked(Math.max(1, Math.ceil(options.commandMinutes / (options.backstopMinutes ?? 5))));
    commandEnded = true;
    const finalAt = Date.now();
    const reported = emulator.waitForCall('codepipeline', 'PutJobSuccessResult', c => !c.input.continuationToken).then(() => Date.now());
    await notifyFinished(s.tableName, commandId);
    const detectionMs = (await reported) - finalAt;
    const result = await emulator.waitForExecution(executionArn);
    await Promise.all(renewedJobs);
    const calls = emulator.calls();
    return {
      stateTransitions: statesEntered(result).length,
      lambdaInvocations: stepsInvoked(calls).length + 1 + 1 + renewals,
      ...dynamoDbCounts(calls),
      ssmCalls: calls.filter(c => c.service === 'ssm').length,
      jobRenewals: renewals,
      backstopPolls: result.history.filter(e => e.type === 'TaskTimedOut').length,
      detectionMs,
      outcome: outcomeOf(calls),
      history: result.history,
    };
  } finally {
    if (renewEnv === undefined) delete process.env.JOB_RENEW_AFTER_MS;
    else process.env.JOB_RENEW_AFTER_MS = renewEnv;
  }
}

/** One run of the seed design, with its Wait at 0 s and the command's clock advanced 10 s per poll. Resets the emulator first. */
export async function measureSeedRun(emulator: Emulator, options: { commandMinutes: number; waitSeconds?: number }): Promise<VmRunFigures> {
  await emulator.reset();
  emulator.script('codepipeline', 'PutJobSuccessResult', { body: {} });
  emulator.script('codepipeline', 'PutJobFailureResult', { body: {} });
  const pollSeconds = options.waitSeconds ?? 10;
  const polls: Record<string, number> = {};
  let finalAt: number | undefined;
  scriptCommand(emulator, instanceId => (polls[instanceId] = (polls[instanceId] ?? 0) + 1) * pollSeconds >= options.commandMinutes * 60,
    () => finalAt ??= Date.now());
  const seed = seedDesign();
  const reported = emulator.waitForCall('codepipeline', 'PutJobSuccessResult').then(() => Date.now());
  const result = await emulator.runStateMachine(seed.template, seed.stateMachineId, {
    input: { jobId: 'job-1', instanceIds: [A, B], commands: ['make test'], waitSeconds: 0 },
    name: 'job-1',
    handlers: seed.handlers,
  });
  const detectionMs = (await reported) - finalAt!;
  const calls = emulator.calls();
  return {
    stateTransitions: statesEntered(result).length,
    // The state machine's invocations, and the pipeline action that started it.
    lambdaInvocations: calls.filter(c => c.service === 'lambda' && c.operation === 'Invoke').length + 1,
    ...dynamoDbCounts(calls),
    ssmCalls: calls.filter(c => c.service === 'ssm').length,
    jobRenewals: 0,
    backstopPolls: 0,
    detectionMs,
    outcome: outcomeOf(calls),
    history: result.history,
  };
}
