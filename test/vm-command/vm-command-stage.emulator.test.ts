import { EC2Client, RunInstancesCommand, StopInstancesCommand, TagSpecification } from '@aws-sdk/client-ec2';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Duration } from 'aws-cdk-lib';
import { strToU8, zipSync } from 'fflate';
import { A, B, exported, RUN, statesEntered, stepsInvoked, vmRunHelpers } from './emulator-run';
import { FileParameterType, VmTargets } from '../../src';
import { describeWithEmulator } from '../emulator/harness';

/* The stage's runs on the emulator (see emulator-run.ts for what moto fakes and the tests script). */

describeWithEmulator('VmCommandStage on the emulator', emulator => {
  const {
    prepare, pipelineJob, startRun, scriptInvocations, jobResults, recordedCommandId, notifyFinished, parked,
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
