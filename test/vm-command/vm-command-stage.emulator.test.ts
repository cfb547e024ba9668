import { EC2Client, RunInstancesCommand, StopInstancesCommand, TagSpecification } from '@aws-sdk/client-ec2';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { Duration } from 'aws-cdk-lib';
import { strToU8, zipSync } from 'fflate';
import { A, B, exported, PIPELINE_EXECUTION_ID, RUN, statesEntered, stepsInvoked, Synthesized, vmRunHelpers } from './emulator-run';
import { FileParameterType, VmTargets } from '../../src';
import { describeWithEmulator } from '../emulator/harness';

/* The stage's runs on the emulator (see emulator-run.ts for what moto fakes and the tests script). */

describeWithEmulator('VmCommandStage on the emulator', emulator => {
  const {
    prepare, pipelineJob, startRun, deliverToEventFunction, executionStatusEvent, scriptInvocations, jobResults,
    recordedCommandId, notifyFinished, parked,
  } = vmRunHelpers(emulator);

  test('success on two instances: one run, its states and Lambda invocations counted, results as output variables', async () => {
    const s = await prepare();
    scriptInvocations({ [A]: [{ Status: 'Success' }], [B]: [{ Status: 'Success' }] });
    const { executionArn } = await startRun(s);
    // The SSM status-change event, as EventBridge would deliver it to the notify function.
    await parked();
    const send = emulator().calls('ssm', 'SendCommand')[0];
    const commandId = await recordedCommandId();
    await notifyFinished(s.tableName, commandId);
    const result = await emulator().waitForExecution(executionArn);

    expect(result.status).toBe('SUCCEEDED');
    expect(send.input).toMatchObject({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: [A, B],
      Parameters: { commands: ['# cdk-pipeline-stages run job-1', exported('commitId', 'abc123'), 'make test'], executionTimeout: ['60'] },
      TimeoutSeconds: 30,
      CloudWatchOutputConfig: { CloudWatchOutputEnabled: true },
    });
    expect(jobResults('PutJobSuccessResult')).toEqual([{
      jobId: 'job-1',
      executionDetails: { summary: `command ${commandId} succeeded on 2 of 2 instance(s)` },
      outputVariables: { CommandId: commandId, SucceededCount: '2', FailedCount: '0', Results: `${A}=Success,${B}=Success` },
    }]);
    const states = statesEntered(result);
    // One run: pre-flight, send, one wait, one status check, the choice and finish; plus the event
    // function (above) and the pipeline's action outside the state machine.
    expect(states).toEqual(['PreFlight', 'SendCommand', 'WaitForCompletion', 'CheckStatus', 'IsFinished', 'Finish']);
    expect(stepsInvoked(result.calls)).toEqual(['preflight', 'send', 'wait', 'status', 'finish']);
    const tableCalls = emulator().calls().filter(c => c.service === 'dynamodb').length;
    console.log(`one run: ${states.length} states entered, ${result.history.length} history events, `
      + `${stepsInvoked(result.calls).length} Lambda invocations by the state machine (+1 event, +1 action), ${tableCalls} DynamoDB calls`);
  });

  test('one instance fails: the stage fails with that instance\'s status and output tail', async () => {
    const s = await prepare();
    scriptInvocations({
      [A]: [{ Status: 'Success' }],
      [B]: [{ Status: 'Failed', StatusDetails: 'Failed', StandardOutputContent: 'running 12 tests', StandardErrorContent: 'FAIL test_login\nexit status 2' }],
    });
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(result.status).toBe('SUCCEEDED');
    const [failure] = jobResults('PutJobFailureResult');
    expect(failure.failureDetails.message).toMatch(new RegExp(`failed on 1 of 2 instance\\(s\\) \\(max errors 0\\):\\n- ${B}: Failed\\n`));
    expect(failure.failureDetails.message).toContain('stderr (tail): FAIL test_login\nexit status 2');
    expect(failure.failureDetails.message).toContain('stdout (tail): running 12 tests');
    expect(failure.failureDetails.message).toContain('#logsV2:log-groups/log-group/');
    expect(jobResults('PutJobSuccessResult')).toEqual([]);
  });

  test('InProgress for several backstop polls, then success', async () => {
    const s = await prepare();
    scriptInvocations({ [A]: [{ Status: 'InProgress' }, { Status: 'InProgress' }, { Status: 'InProgress' }, { Status: 'Success' }], [B]: [{ Status: 'Success' }] });
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(result.status).toBe('SUCCEEDED');
    expect(statesEntered(result).filter(n => n === 'CheckStatus')).toHaveLength(4);
    expect(jobResults('PutJobSuccessResult')).toHaveLength(1);
  });

  test('the event path resumes the execution without waiting for the backstop', async () => {
    const s = await prepare({ backstopInterval: Duration.minutes(5) });
    scriptInvocations({ [A]: [{ Status: 'Success' }], [B]: [{ Status: 'Success' }] });
    const { executionArn } = await startRun(s);
    const commandId = await recordedCommandId();
    await parked();
    await notifyFinished(s.tableName, commandId);
    const result = await emulator().waitForExecution(executionArn);
    expect(result.status).toBe('SUCCEEDED');
    // The event ended the wait: it never reached its timeout (the backstop).
    expect(result.history.filter(e => e.type === 'TaskTimedOut')).toEqual([]);
    expect(emulator().calls('ssm', 'GetCommandInvocation')).toHaveLength(2);
  });

  test('a command that finishes before the send task records it: the early event still resumes the execution at once', async () => {
    const s = await prepare({ backstopInterval: Duration.minutes(5) });
    scriptInvocations({ [A]: [{ Status: 'Success' }], [B]: [{ Status: 'Success' }] });
    // The fastest possible command: SSM's event reaches the notify function before the send task has
    // recorded the command, and so before the wait task stores its token. moto picks its own command
    // ids: SendCommand is scripted to answer the id the event names, so the event can be delivered first.
    const commandId = '5d0c3f7a-1b2e-4c9d-8e6f-7a8b9c0d1e2f';
    emulator().script('ssm', 'SendCommand', { body: { Command: { CommandId: commandId, Status: 'Pending' } } });
    await notifyFinished(s.tableName, commandId);
    expect(emulator().calls('states', 'SendTaskSuccess')).toHaveLength(0);

    const result = await emulator().waitForExecution((await startRun(s)).executionArn);

    // Without the early mark the wait would park until the 5-minute backstop (and this wait time out).
    expect(result.status).toBe('SUCCEEDED');
    expect(statesEntered(result)).toEqual(['PreFlight', 'SendCommand', 'WaitForCompletion', 'CheckStatus', 'IsFinished', 'Finish']);
    // The wait task found the mark and resumed its own execution.
    expect(emulator().calls('states', 'SendTaskSuccess').map(c => JSON.parse(c.input.output))).toEqual([{ commandId }]);
    expect(jobResults('PutJobSuccessResult')).toEqual([expect.objectContaining({ jobId: 'job-1', outputVariables: expect.objectContaining({ CommandId: commandId }) })]);
  });

  test('InvocationDoesNotExist right after send is tolerated', async () => {
    const s = await prepare();
    scriptInvocations({ [A]: ['missing', { Status: 'Success' }], [B]: ['missing', { Status: 'Success' }] });
    // While invocations are missing, the command is still going (moto would say Success at once).
    emulator().script('ssm', 'ListCommands', { body: { Commands: [{ Status: 'InProgress' }] } });
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(result.status).toBe('SUCCEEDED');
    expect(statesEntered(result).filter(n => n === 'CheckStatus')).toHaveLength(2);
    expect(jobResults('PutJobSuccessResult')).toHaveLength(1);
  });

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

  test('offline instance: pre-flight fails the run before anything is sent', async () => {
    const s = await prepare({}, { [A]: 'Online', [B]: 'ConnectionLost' });
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(result.status).toBe('SUCCEEDED');
    expect(emulator().calls('ssm', 'SendCommand')).toHaveLength(0);
    expect(jobResults('PutJobFailureResult')[0].failureDetails.message)
      .toBe(`InstanceNotReachable: instance ${B} is not reachable by SSM (PingStatus: ConnectionLost)`);
  });

  test('a running instance carrying the target tags that SSM does not manage fails pre-flight, naming it', async () => {
    // moto's EC2 really holds the instances: two running with the tags, one stopped with them, one untagged.
    const ec2 = emulator().client(EC2Client);
    const tagged: TagSpecification[] = [{ ResourceType: 'instance', Tags: [{ Key: 'Role', Value: 'scanner' }] }];
    const launch = async (tagSpecifications?: TagSpecification[]) => (await ec2.send(new RunInstancesCommand({
      ImageId: 'ami-12345678', MinCount: 1, MaxCount: 1, TagSpecifications: tagSpecifications,
    }))).Instances![0].InstanceId!;
    const managed = await launch(tagged);
    const unmanaged = await launch(tagged);
    const stopped = await launch(tagged);
    await ec2.send(new StopInstancesCommand({ InstanceIds: [stopped] }));
    await launch();
    const hybrid = 'mi-0123456789abcdef0';
    // moto has no registered SSM agents: DescribeInstanceInformation is scripted to report only one of
    // the EC2 instances, and a hybrid node (which has no EC2 record), as Online.
    const s = await prepare({ targets: VmTargets.tags({ Role: ['scanner'] }) }, { [managed]: 'Online', [hybrid]: 'Online' });

    const result = await emulator().waitForExecution((await startRun(s)).executionArn);

    expect(result.status).toBe('SUCCEEDED');
    expect(emulator().calls('ec2', 'DescribeInstances').map(c => c.input)).toEqual([expect.objectContaining({
      'Filter.1.Name': 'tag:Role', 'Filter.1.Value.1': 'scanner', 'Filter.2.Name': 'instance-state-name', 'Filter.2.Value.1': 'running',
    })]);
    expect(emulator().calls('ssm', 'SendCommand')).toHaveLength(0);
    expect(jobResults('PutJobFailureResult').map(r => r.failureDetails.message))
      .toEqual([`InstanceNotReachable: instance ${unmanaged} is not managed by SSM`]);
  });

  test('throttled SendCommand is retried', async () => {
    const s = await prepare();
    scriptInvocations({ [A]: [{ Status: 'Success' }], [B]: [{ Status: 'Success' }] });
    let sends = 0;
    emulator().script('ssm', 'SendCommand', () => (++sends === 1 ? { error: { code: 'ThrottlingException', message: 'Rate exceeded' } } : undefined));
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(result.status).toBe('SUCCEEDED');
    expect(statesEntered(result).filter(n => n === 'SendCommand')).toHaveLength(1);
    expect(stepsInvoked(result.calls).filter(step => step === 'send')).toHaveLength(2);
    expect(jobResults('PutJobSuccessResult')).toHaveLength(1);
  });

  describe('the parameters file', () => {
    async function runStart(files: Record<string, string>) {
      const s = await prepare({ parametersFile: 'ci/vm.json', fileParameters: { suite: FileParameterType.STRING } });
      const s3 = emulator().client(S3Client);
      await s3.send(new CreateBucketCommand({ Bucket: 'artifacts' }));
      const zip = zipSync(Object.fromEntries(Object.entries(files).map(([name, text]) => [name, strToU8(text)])));
      await s3.send(new PutObjectCommand({ Bucket: 'artifacts', Key: 'src.zip', Body: zip }));
      await emulator().invokeHandler(RUN, pipelineJob(s, 'job-file', [
        { name: 'Source', location: { type: 'S3', s3Location: { bucketName: 'artifacts', objectKey: 'src.zip' } } },
      ]), {}, { TABLE_NAME: s.tableName });
      return { s, failures: jobResults('PutJobFailureResult').map(r => r.failureDetails.message) };
    }

    test('an allowlisted value reaches the command as an environment variable of the script', async () => {
      scriptInvocations({ [A]: [{ Status: 'Success' }], [B]: [{ Status: 'Success' }] });
      const { s, failures } = await runStart({ 'ci/vm.json': '{"parameters": {"suite": "smoke"}}' });
      expect(failures).toEqual([]);
      const send = await emulator().waitForCall('ssm', 'SendCommand');
      expect(send.input.Parameters.commands).toEqual(['# cdk-pipeline-stages run job-file', exported('commitId', 'abc123'), exported('suite', 'smoke'), 'make test']);
      await emulator().waitForExecution(`${s.stateMachineArn.replace(':stateMachine:', ':execution:')}:job-file`);
    });

    test.each<[string, Record<string, string>, string | RegExp]>([
      ['malformed', { 'ci/vm.json': '{"parameters": {' }, /^parameters file `ci\/vm.json` is not valid JSON: /],
      ['an unknown key', { 'ci/vm.json': '{"parameters": {"suite": "smoke", "target": "prod"}}' }, 'parameters file `ci/vm.json` is invalid: `parameters`: Unrecognized key(s) in object: \'target\''],
      ['a wrong type', { 'ci/vm.json': '{"parameters": {"suite": 3}}' }, 'parameters file `ci/vm.json` is invalid: `parameters.suite`: Expected string, received number'],
      ['missing', { 'README.md': '# app' }, 'parameters file `ci/vm.json` was not found in the input artifact `Source`'],
    ])('%s: the job fails with a message naming the problem', async (_name, files, message) => {
      const [failure] = (await runStart(files)).failures;
      if (typeof message === 'string') expect(failure).toBe(message);
      else expect(failure).toMatch(message);
    });
  });
});
