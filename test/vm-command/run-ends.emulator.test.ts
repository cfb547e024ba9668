import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { Duration } from 'aws-cdk-lib';
import { A, B, PIPELINE_EXECUTION_ID, statesEntered, Synthesized, vmRunHelpers } from './emulator-run';
import { describeWithEmulator } from '../emulator/harness';

/*
 * How the stage's runs end when they do not finish: the state machine's timeout and a stopped
 * pipeline (see emulator-run.ts for what moto fakes and the tests script). A file of its own, so
 * that jest runs it beside the other runs.
 */

describeWithEmulator('VmCommandStage runs that time out or are stopped, on the emulator', emulator => {
  const {
    prepare, startRun, deliverToEventFunction, executionStatusEvent, scriptInvocations, jobResults, recordedCommandId, notifyFinished, parked,
  } = vmRunHelpers(emulator);

  test('timeout: the state machine times out; the cleanup cancels the command on every target and reports the failure exactly once', async () => {
    // The state machine's timeout must pass while the execution is parked in WaitForCompletion (a
    // long backstop): a timeout that lands between two states makes moto 5.2.1 record a history it
    // cannot serialize, and that is moto's problem, not the stage's. How soon the execution parks
    // depends on the machine's load, so a try that timed out before it parked is run again with
    // twice the timeout.
    const parkedWhenItTimedOut = async (seconds: number) => {
      await emulator().reset();
      const prepared = await prepare({ backstopInterval: Duration.minutes(5) }, undefined, seconds);
      scriptInvocations({ [A]: [{ Status: 'InProgress' }], [B]: [{ Status: 'InProgress' }] });
      const arn = (await startRun(prepared)).executionArn;
      const ended = await emulator().waitForExecution(arn).catch(() => undefined);
      const tokenStored = emulator().calls('dynamodb', 'UpdateItem').some(c => String(c.input.UpdateExpression).startsWith('SET taskToken'));
      return ended && tokenStored && statesEntered(ended).includes('WaitForCompletion') ? { s: prepared, executionArn: arn, result: ended } : undefined;
    };
    let run: Awaited<ReturnType<typeof parkedWhenItTimedOut>>;
    for (let seconds = 4; !run && seconds <= 128; seconds *= 2) run = await parkedWhenItTimedOut(seconds);
    if (!run) throw new Error('the execution never parked before its timeout, even with a timeout of 128 s');
    const { s, executionArn, result } = run;
    expect(result.status).toBe('TIMED_OUT');
    // A state machine timeout runs no Catch: nothing inside the execution cancelled or reported.
    expect(statesEntered(result)).not.toContain('Finish');
    expect(emulator().calls('ssm', 'CancelCommand')).toHaveLength(0);
    expect(jobResults('PutJobFailureResult')).toHaveLength(0);

    await deliverToEventFunction(s.tableName, executionStatusEvent(executionArn, 'TIMED_OUT'));
    const commandId = emulator().calls('ssm', 'CancelCommand')[0]?.input.CommandId;
    expect(emulator().calls('ssm', 'CancelCommand').map(c => c.input)).toEqual([{ CommandId: commandId, InstanceIds: [A, B] }]);
    // EventBridge delivers at least once, and retries: a second delivery (the command is cancelled by now) reports nothing more.
    scriptInvocations({ [A]: [{ Status: 'Cancelled' }], [B]: [{ Status: 'Cancelled' }] });
    await deliverToEventFunction(s.tableName, executionStatusEvent(executionArn, 'TIMED_OUT'));

    expect(emulator().calls('ssm', 'CancelCommand')).toHaveLength(1);
    expect(jobResults('PutJobSuccessResult')).toEqual([]);
    expect(jobResults('PutJobFailureResult')).toEqual([{
      jobId: 'job-1',
      failureDetails: { type: 'JobFailed', message: `the run's state machine execution timed out\ncommand ${commandId} was cancelled on ${A}, ${B}` },
    }]);
  });

  describe('the pipeline execution is stopped while the command runs', () => {
    /** The pipeline's event as the stage's rule hands it to the event function: the detail, with the stage's state machine. */
    const pipelineEvent = (s: Synthesized, state: string, executionId = PIPELINE_EXECUTION_ID) => ({
      source: 'aws.codepipeline',
      stateMachineArn: s.stateMachineArn,
      detail: {
        'pipeline': 'release',
        'execution-id': executionId,
        'stage': 'Vm',
        'action': 'Vm',
        state,
        'type': { owner: 'AWS', provider: 'Lambda', category: 'Invoke', version: '1' },
      },
    });

    test.each([
      ['ABANDONED', 'refuses it', { error: { code: 'InvalidJobStateException', message: 'Job is not in progress' } }],
      ['CANCELED', 'takes it', { body: {} }],
    ])('action %s (the job %s): the execution is aborted, then cleanup runs once: the command cancelled where it still runs, the failure offered to the job once', async (state, _takes, jobReply) => {
      const s = await prepare({ backstopInterval: Duration.minutes(5) });
      // The command already finished on A; it runs on B until it is cancelled there.
      emulator().script('ssm', 'GetCommandInvocation', (input: any) => ({
        body: {
          CommandId: input.CommandId,
          InstanceId: input.InstanceId,
          Status: input.InstanceId === A ? 'Success' : emulator().calls('ssm', 'CancelCommand').length ? 'Cancelled' : 'InProgress',
        },
      }));
      // moto has no CodePipeline job APIs: what the stopped job answers is scripted.
      emulator().script('codepipeline', 'PutJobFailureResult', jobReply);
      const { executionArn } = await startRun(s);
      const commandId = await recordedCommandId();
      await parked();

      await deliverToEventFunction(s.tableName, pipelineEvent(s, state));
      const cause = `pipeline release execution ${PIPELINE_EXECUTION_ID} was ${state.toLowerCase()}`;
      expect(emulator().calls('states', 'StopExecution').map(c => c.input)).toEqual([{ executionArn, error: 'PipelineStopped', cause }]);
      // Stopping the execution is all the pipeline event does: the ABORTED event cleans up.
      expect(emulator().calls('ssm', 'CancelCommand')).toHaveLength(0);
      expect(jobResults('PutJobFailureResult')).toHaveLength(0);
      // moto 5.2.1 only notices StopExecution once the waiting task wakes up: a command event wakes it.
      await notifyFinished(s.tableName, commandId, 'Success');
      const result = await emulator().waitForExecution(executionArn);
      expect(result.status).toBe('ABORTED');
      expect(statesEntered(result)).toEqual(['PreFlight', 'SendCommand', 'WaitForCompletion']);

      // The ABORTED event, with the error and cause StopExecution gave, delivered twice (EventBridge delivers at least once).
      await deliverToEventFunction(s.tableName, executionStatusEvent(executionArn, 'ABORTED', { error: 'PipelineStopped', cause }));
      await deliverToEventFunction(s.tableName, executionStatusEvent(executionArn, 'ABORTED', { error: 'PipelineStopped', cause }));

      // moto has no CancelCommand: it is scripted, and recorded. Cleanup ran once: one stop, one cancel, one report.
      expect(emulator().calls('ssm', 'CancelCommand').map(c => c.input)).toEqual([{ CommandId: commandId, InstanceIds: [B] }]);
      expect(jobResults('PutJobFailureResult')).toEqual([{
        jobId: 'job-1',
        failureDetails: { type: 'JobFailed', message: `the run's state machine execution aborted: PipelineStopped: ${cause}\ncommand ${commandId} was cancelled on ${B}` },
      }]);
      expect(emulator().calls('states', 'StopExecution')).toHaveLength(1);
      expect(jobResults('PutJobSuccessResult')).toEqual([]);
    });

    test('an event for a pipeline execution this stage has no run for changes nothing', async () => {
      const s = await prepare({ backstopInterval: Duration.minutes(5) });
      scriptInvocations({ [A]: [{ Status: 'InProgress' }], [B]: [{ Status: 'InProgress' }] });
      const { executionArn } = await startRun(s);
      await parked();
      await deliverToEventFunction(s.tableName, pipelineEvent(s, 'ABANDONED', '00000000-0000-4000-8000-000000000000'));
      expect(emulator().calls('states', 'StopExecution')).toEqual([]);
      expect(emulator().calls('ssm', 'CancelCommand')).toEqual([]);
      expect(jobResults('PutJobFailureResult')).toEqual([]);
      expect((await emulator().client(SFNClient).send(new DescribeExecutionCommand({ executionArn }))).status).toBe('RUNNING');
    });
  });

});
