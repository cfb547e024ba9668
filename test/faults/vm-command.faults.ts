import './request-timeout';
import { execFileSync } from 'child_process';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { Duration } from 'aws-cdk-lib';
import { strToU8, zipSync } from 'fflate';
import { appliedThenDrop, drop, fakeCodePipeline, hang, serverError, throttled } from './fault-replies';
import { FileParameterType, VmTargets } from '../../src';
import { ScriptedReply } from '../emulator/aws-protocol';
import { describeWithEmulator } from '../emulator/harness';
import { A, B, createRunTable, EVENT, RUN, statesEntered, vmRunHelpers } from '../vm-command/emulator-run';

/*
 * Fault injection on the VmCommandStage asset as it ships, on moto: every AWS call refused,
 * throttled, answered 5xx, hung or dropped (before or after it was applied), events delivered twice,
 * hostile values. CodePipeline is a fake that takes one result per job, as CodePipeline does, and
 * answers InvalidJobStateException after that: each scenario asserts what it took. Calls time out
 * after FAULT_REQUEST_TIMEOUT_MS here (request-timeout.ts) so that hangs end quickly, yet a
 * healthy call on a loaded CI machine does not; the SDK makes one attempt (the emulator's
 * AWS_MAX_ATTEMPTS=1), so each retry below is the state machine's or Lambda's.
 */

const TABLE = 'vm-faults';
const env = { TABLE_NAME: TABLE };

describeWithEmulator('VmCommandStage faults', emulator => {
  const {
    prepare, startRun, pipelineJob, deliverToEventFunction, executionStatusEvent, scriptInvocations, notifyFinished, parked,
  } = vmRunHelpers(emulator);

  /** The id of the command moto holds for the run (its comment names the run). */
  async function commandOfRun(): Promise<string | undefined> {
    const listed = await emulator().client(SSMClient).send(new ListCommandsCommand({}));
    return listed.Commands?.find(c => c.Comment === 'run job-1')?.CommandId;
  }

  async function runTable(run: Record<string, unknown> = {}) {
    const dynamodb = emulator().client(DynamoDBClient);
    await createRunTable(emulator(), TABLE);
    const work = { documentName: 'AWS-RunShellScript', sentAfter: new Date(0).toISOString(), commandId: 'cmd-1', instanceIds: [A, B] };
    await dynamodb.send(new PutItemCommand({
      TableName: TABLE,
      Item: {
        pk: { S: 'run#job-1' },
        runId: { S: 'job-1' },
        jobId: { S: 'job-1' },
        jobRegisteredAt: { N: String(run.jobRegisteredAt ?? Date.now()) },
        awaitingJob: { BOOL: false },
        reported: { BOOL: false },
        runWork: { S: JSON.stringify(run.work ?? work) },
      },
    }));
  }

  const invoke = (handler: string, event: object) => emulator().invokeHandler(handler, event, {}, env).then(() => 'ok', (err: Error) => err.name);
  const finishStep = (run: object) => invoke(RUN, { step: 'finish', run: { runId: 'job-1', ...run } });
  const succeeded = { status: { done: true, outcome: { succeeded: true, message: 'command cmd-1 succeeded on 2 of 2 instance(s)' } } };

  describe('the job result is taken exactly once', () => {
    test.each<[string, ScriptedReply]>([
      ['throttled', throttled],
      ['answered 5xx', serverError],
      ['hung', hang],
      ['dropped', drop],
    ])('a success %s: the Finish step fails, its retry reports, CodePipeline takes one result', async (_name, fault) => {
      await runTable();
      const codepipeline = fakeCodePipeline(emulator, [fault]);
      expect(await finishStep(succeeded)).not.toBe('ok');
      expect(await finishStep(succeeded)).toBe('ok');
      expect(codepipeline.results().map(r => r.operation)).toEqual(['PutJobSuccessResult']);
      // A third delivery finds the run reported and sends nothing.
      expect(await finishStep(succeeded)).toBe('ok');
      expect(emulator().calls('codepipeline', 'PutJobSuccessResult')).toHaveLength(2);
    });

    test('a success applied, then the connection dropped: the retry is told the job has its result, and it counts', async () => {
      await runTable();
      const codepipeline = fakeCodePipeline(emulator, [appliedThenDrop]);
      expect(await finishStep(succeeded)).not.toBe('ok');
      expect(await finishStep(succeeded)).toBe('ok');
      expect(codepipeline.results()).toHaveLength(1);
      expect(emulator().calls('codepipeline', 'PutJobFailureResult')).toHaveLength(0);
    });

    test('success and failure both answered 500, then the FAILED event reaches the event function: one result', async () => {
      await runTable();
      scriptInvocations({ [A]: [{ Status: 'Cancelled' }], [B]: [{ Status: 'Cancelled' }] });
      const codepipeline = fakeCodePipeline(emulator, [serverError, serverError]);
      expect(await finishStep({ error: { Error: 'States.Runtime', Cause: 'boom' } })).not.toBe('ok');
      expect(await finishStep({ error: { Error: 'States.Runtime', Cause: 'boom' } })).not.toBe('ok');
      expect(await invoke(EVENT, { source: 'aws.states', detail: { name: 'job-1', status: 'FAILED', error: 'States.TaskFailed', cause: 'Finish failed' } })).toBe('ok');
      expect(codepipeline.results().map(r => r.input.failureDetails.message)).toEqual(['States.Runtime: boom']);
    });

    test.each<[string, ScriptedReply]>([['throttled', throttled], ['hung', hang]])(
      'the event function\'s failure report %s: the event is retried and one result is taken', async (_name, fault) => {
        await runTable();
        emulator().script('ssm', 'GetCommandInvocation', { body: { Status: 'Cancelled' } });
        const codepipeline = fakeCodePipeline(emulator, [fault]);
        const timedOut = { source: 'aws.states', detail: { name: 'job-1', status: 'TIMED_OUT' } };
        expect(await invoke(EVENT, timedOut)).not.toBe('ok');
        expect(await invoke(EVENT, timedOut)).toBe('ok');
        expect(codepipeline.results()).toHaveLength(1);
      });

    test.each<[string, ScriptedReply]>([
      ['refused (InvalidInstanceId)', { error: { code: 'InvalidInstanceId', message: 'Instances not in a valid state' } }],
      ['hung', hang],
      ['answered 5xx', serverError],
    ])('a cancel %s never prevents the report: the reason says the command could not be cancelled', async (_name, fault) => {
      await runTable();
      emulator().script('ssm', 'GetCommandInvocation', { body: { Status: 'InProgress' } });
      emulator().script('ssm', 'CancelCommand', fault);
      const codepipeline = fakeCodePipeline(emulator);
      expect(await finishStep({ command: { commandId: 'cmd-1' }, resolved: { instanceIds: [A] }, error: { Error: 'States.Timeout' } })).toBe('ok');
      expect(codepipeline.results().map(r => r.input.failureDetails.message)).toEqual([expect.stringMatching(/^States\.Timeout\nthe run's command could not be cancelled: /)]);
    });

    test('an error with no name and no cause still gives CodePipeline a readable reason', async () => {
      await runTable({ work: {} });
      const codepipeline = fakeCodePipeline(emulator);
      expect(await finishStep({ error: { Error: '', Cause: '' } })).toBe('ok');
      expect(codepipeline.results().map(r => r.input.failureDetails.message)).toEqual(['Error']);
    });

    test.each<[string, ScriptedReply]>([['hung', hang], ['answered 5xx', serverError], ['applied, then dropped', appliedThenDrop]])(
      'a job renewal %s: the status step fails and stays renewing; its retry renews again, and CodePipeline renews once', async (_name, fault) => {
        await runTable({ jobRegisteredAt: Date.now() - 10 * 60_000 });
        scriptInvocations({ [A]: [{ Status: 'InProgress' }], [B]: [{ Status: 'InProgress' }] });
        const codepipeline = fakeCodePipeline(emulator, [fault]);
        const status = { step: 'status', runId: 'job-1', commandId: 'cmd-1', instanceIds: [A, B], config: { maxErrors: '0', logGroupName: 'g' } };
        expect(await invoke(RUN, status)).not.toBe('ok');
        expect(await invoke(RUN, status)).toBe('ok');
        expect(codepipeline.taken.map(t => t.input.continuationToken)).toEqual(['job-1']);
        const run = await emulator().client(DynamoDBClient).send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'run#job-1' } } }));
        expect(run.Item!.awaitingJob).toEqual({ BOOL: true });
      });
  });

  describe('the pipeline action', () => {
    test.each<[string, string, ScriptedReply]>([
      // The proxy names S3 calls by method and path.
      ['the parameters file read hangs', 's3:GET /artifacts/src.zip', hang],
      ['the run record is refused', 'dynamodb:PutItem', { error: { code: 'AccessDeniedException', message: 'no' } }],
    ])('%s: the job fails once, with the reason, and nothing starts', async (_name, call, fault) => {
      const s = await prepare({ parametersFile: 'ci/vm.json', fileParameters: { suite: FileParameterType.STRING } });
      const s3 = emulator().client(S3Client);
      await s3.send(new CreateBucketCommand({ Bucket: 'artifacts' }));
      await s3.send(new PutObjectCommand({ Bucket: 'artifacts', Key: 'src.zip', Body: zipSync({ 'ci/vm.json': strToU8('{}') }) }));
      const [service, operation] = [call.slice(0, call.indexOf(':')), call.slice(call.indexOf(':') + 1)];
      emulator().script(service, operation, fault);
      const codepipeline = fakeCodePipeline(emulator);
      await emulator().invokeHandler(RUN, pipelineJob(s, 'job-1', [{ name: 'Source', location: { type: 'S3', s3Location: { bucketName: 'artifacts', objectKey: 'src.zip' } } }]), {}, { TABLE_NAME: s.tableName });
      expect(codepipeline.results().map(r => r.operation)).toEqual(['PutJobFailureResult']);
      expect(emulator().calls('states', 'StartExecution')).toHaveLength(0);
    });

    test.each<[string, ScriptedReply]>([['applied, then dropped', appliedThenDrop], ['answered 5xx before applying', serverError], ['hung before applying', hang]])(
      'StartExecution %s: sent once more (same name and input), the run starts once, and the job is not failed', async (_name, fault) => {
        const s = await prepare();
        scriptInvocations({ [A]: [{ Status: 'Success' }], [B]: [{ Status: 'Success' }] });
        let starts = 0;
        emulator().script('states', 'StartExecution', () => (++starts === 1 ? fault : undefined));
        const codepipeline = fakeCodePipeline(emulator);
        await emulator().invokeHandler(RUN, pipelineJob(s, 'job-1'), {}, { TABLE_NAME: s.tableName });
        const executionArn = `${s.stateMachineArn.replace(':stateMachine:', ':execution:')}:job-1`;
        const result = await emulator().waitForExecution(executionArn);
        expect(result.status).toBe('SUCCEEDED');
        expect(codepipeline.results().map(r => r.operation)).toEqual(['PutJobSuccessResult']);
      });

    test('the same new job delivered twice while its run waits: one execution, one command, and the record keeps the command', async () => {
      const s = await prepare({ backstopInterval: Duration.minutes(5) });
      scriptInvocations({ [A]: [{ Status: 'InProgress' }], [B]: [{ Status: 'InProgress' }] });
      fakeCodePipeline(emulator);
      await startRun(s);
      await parked();
      await emulator().invokeHandler(RUN, pipelineJob(s, 'job-1'), {}, { TABLE_NAME: s.tableName });
      expect(emulator().calls('ssm', 'SendCommand')).toHaveLength(1);
      const run = await emulator().client(DynamoDBClient).send(new GetItemCommand({ TableName: s.tableName, Key: { pk: { S: 'run#job-1' } } }));
      expect(JSON.parse(run.Item!.runWork.S!).commandId).toBeDefined();
    });
  });

  describe('one run sends at most one command, and every command it sent is tracked or cancelled', () => {
    async function commandsOfRun(): Promise<number> {
      const listed = await emulator().client(SSMClient).send(new ListCommandsCommand({}));
      return (listed.Commands ?? []).filter(c => c.Comment === 'run job-1').length;
    }

    test('SendCommand applied, then the connection dropped: the retry adopts the command instead of sending another', async () => {
      const s = await prepare();
      scriptInvocations({ [A]: [{ Status: 'Success' }], [B]: [{ Status: 'Success' }] });
      let sends = 0;
      emulator().script('ssm', 'SendCommand', () => (++sends === 1 ? appliedThenDrop : undefined));
      const codepipeline = fakeCodePipeline(emulator);
      const result = await emulator().waitForExecution((await startRun(s)).executionArn);
      expect(result.status).toBe('SUCCEEDED');
      expect(emulator().calls('ssm', 'SendCommand')).toHaveLength(1);
      expect(await commandsOfRun()).toBe(1);
      expect(codepipeline.results().map(r => r.operation)).toEqual(['PutJobSuccessResult']);
    });

    test('recording the command throttled: the retry records the command already sent, and sends none', async () => {
      const s = await prepare();
      scriptInvocations({ [A]: [{ Status: 'Success' }], [B]: [{ Status: 'Success' }] });
      let recordings = 0;
      emulator().script('dynamodb', 'UpdateItem', (input: any) =>
        (String(input.Key.pk.S).startsWith('command#') && ++recordings === 1 ? { error: { code: 'ProvisionedThroughputExceededException', message: 'slow down' } } : undefined));
      const codepipeline = fakeCodePipeline(emulator);
      const result = await emulator().waitForExecution((await startRun(s)).executionArn);
      expect(result.status).toBe('SUCCEEDED');
      expect(await commandsOfRun()).toBe(1);
      expect(codepipeline.results().map(r => r.operation)).toEqual(['PutJobSuccessResult']);
    });

    test('recording the command always refused: the run fails, and the command it sent is found and cancelled', async () => {
      const s = await prepare();
      emulator().script('dynamodb', 'UpdateItem', (input: any) =>
        (String(input.Key.pk.S).startsWith('command#') ? { error: { code: 'AccessDeniedException', message: 'not allowed' } } : undefined));
      emulator().script('ssm', 'GetCommandInvocation', { body: { Status: 'InProgress' } });
      const codepipeline = fakeCodePipeline(emulator);
      const result = await emulator().waitForExecution((await startRun(s)).executionArn);
      expect(result.status).toBe('SUCCEEDED');
      expect(await commandsOfRun()).toBe(1);
      expect(emulator().calls('ssm', 'CancelCommand').map(c => c.input.CommandId)).toEqual([await commandOfRun()]);
      expect(codepipeline.results().map(r => r.input.failureDetails?.message)).toEqual([expect.stringMatching(/^CommandNotRecorded: .*\ncommand .* was cancelled on /)]);
    });

    test('SendCommand throttled: retried, one command', async () => {
      const s = await prepare();
      scriptInvocations({ [A]: [{ Status: 'Success' }], [B]: [{ Status: 'Success' }] });
      let sends = 0;
      emulator().script('ssm', 'SendCommand', () => (++sends === 1 ? throttled : undefined));
      fakeCodePipeline(emulator);
      const result = await emulator().waitForExecution((await startRun(s)).executionArn);
      expect(result.status).toBe('SUCCEEDED');
      expect(await commandsOfRun()).toBe(1);
    });
  });

  describe('resuming and cleaning up', () => {
    test('a throttled resume is retried with its token kept: the command\'s success is reported as a success', async () => {
      const s = await prepare({ backstopInterval: Duration.minutes(5) });
      scriptInvocations({ [A]: [{ Status: 'Success' }], [B]: [{ Status: 'Success' }] });
      const codepipeline = fakeCodePipeline(emulator);
      const { executionArn } = await startRun(s);
      await parked();
      const commandId = (await commandOfRun())!;
      let resumes = 0;
      emulator().script('states', 'SendTaskSuccess', () => (++resumes === 1 ? throttled : undefined));
      await expect(notifyFinished(s.tableName, commandId)).rejects.toMatchObject({ name: 'ThrottlingException' });
      await notifyFinished(s.tableName, commandId);
      const result = await emulator().waitForExecution(executionArn);
      expect(result.status).toBe('SUCCEEDED');
      expect(statesEntered(result).filter(n => n === 'CheckStatus')).toHaveLength(1);
      expect(codepipeline.results().map(r => r.operation)).toEqual(['PutJobSuccessResult']);
    });

    test.each<[string, ScriptedReply]>([
      ['throttled', throttled],
      ['refused', { error: { code: 'AccessDeniedException', message: 'not allowed' } }],
      ['hung', hang],
    ])('a pipeline stop whose StopExecution is %s: the event fails (Lambda delivers it again), and the retry stops the execution', async (_name, fault) => {
      const s = await prepare({ backstopInterval: Duration.minutes(5) });
      scriptInvocations({ [A]: [{ Status: 'InProgress' }], [B]: [{ Status: 'InProgress' }] });
      const { executionArn } = await startRun(s);
      await parked();
      let stops = 0;
      emulator().script('states', 'StopExecution', () => (++stops === 1 ? fault : undefined));
      const stopped = { source: 'aws.codepipeline', stateMachineArn: s.stateMachineArn, detail: { 'pipeline': 'release', 'execution-id': '3f1c2b9e-7d4a-4e8b-9c1d-2a3b4c5d6e7f', 'state': 'ABANDONED' } };
      await expect(deliverToEventFunction(s.tableName, stopped)).rejects.toThrow();
      await deliverToEventFunction(s.tableName, stopped);
      // moto's interpreter does not end a parked execution on StopExecution: the second call reaching it is what counts.
      expect(emulator().calls('states', 'StopExecution').map(c => c.input)).toEqual([
        expect.objectContaining({ executionArn, error: 'PipelineStopped' }), expect.objectContaining({ executionArn, error: 'PipelineStopped' }),
      ]);
    });

    test.each(['SUCCEEDED', 'STARTED', 'FAILED'])('a pipeline action event %s reaching the event function stops nothing', async state => {
      const s = await prepare({ backstopInterval: Duration.minutes(5) });
      scriptInvocations({ [A]: [{ Status: 'InProgress' }], [B]: [{ Status: 'InProgress' }] });
      await startRun(s);
      await parked();
      await deliverToEventFunction(s.tableName, { source: 'aws.codepipeline', stateMachineArn: s.stateMachineArn, detail: { 'pipeline': 'release', 'execution-id': '3f1c2b9e-7d4a-4e8b-9c1d-2a3b4c5d6e7f', state } });
      expect(emulator().calls('states', 'StopExecution')).toEqual([]);
      expect(emulator().calls('ssm', 'CancelCommand')).toEqual([]);
    });

    test('a succeeded execution\'s event reaching the event function cancels nothing and reports nothing', async () => {
      const s = await prepare();
      const codepipeline = fakeCodePipeline(emulator);
      scriptInvocations({ [A]: [{ Status: 'Success' }], [B]: [{ Status: 'Success' }] });
      const { executionArn } = await startRun(s);
      await emulator().waitForExecution(executionArn);
      await deliverToEventFunction(s.tableName, executionStatusEvent(executionArn, 'SUCCEEDED'));
      expect(emulator().calls('ssm', 'CancelCommand')).toEqual([]);
      expect(codepipeline.results()).toHaveLength(1);
    });

    test('EC2 answering the same page token twice: pre-flight stops with a clear reason', async () => {
      const s = await prepare({ targets: VmTargets.tags({ Role: ['web'] }) }, { [A]: 'Online' });
      emulator().script('ec2', 'DescribeInstances', { body: { reservationSet: {}, nextToken: 'again' } });
      const codepipeline = fakeCodePipeline(emulator);
      const result = await emulator().waitForExecution((await startRun(s)).executionArn);
      expect(result.status).toBe('SUCCEEDED');
      expect(codepipeline.results().map(r => r.input.failureDetails?.message)).toEqual(['InputError: DescribeInstances answered the same page token twice; stopped reading it']);
      expect(emulator().calls('ssm', 'SendCommand')).toHaveLength(0);
    });
  });

  describe('hostile input', () => {
    async function startWithFile(files: Record<string, Uint8Array>) {
      const s = await prepare({ parametersFile: 'ci/vm.json', fileParameters: { SUITE: FileParameterType.STRING } });
      const s3 = emulator().client(S3Client);
      await s3.send(new CreateBucketCommand({ Bucket: 'artifacts' }));
      await s3.send(new PutObjectCommand({ Bucket: 'artifacts', Key: 'src.zip', Body: zipSync(files, { level: 9 }) }));
      const codepipeline = fakeCodePipeline(emulator);
      await emulator().invokeHandler(RUN, pipelineJob(s, 'job-1', [{ name: 'Source', location: { type: 'S3', s3Location: { bucketName: 'artifacts', objectKey: 'src.zip' } } }]), {}, { TABLE_NAME: s.tableName });
      return { s, codepipeline };
    }

    test('a parameters file that inflates to 64 MiB (a zip bomb) fails the job with a clear reason', async () => {
      const { codepipeline } = await startWithFile({ 'ci/vm.json': new Uint8Array(64 * 1024 * 1024) });
      expect(codepipeline.results().map(r => r.input.failureDetails?.message)).toEqual(['parameters file `ci/vm.json` is larger than 256 KiB']);
    });

    test('hostile values from the parameters file reach the VM\'s bash as data, byte for byte', async () => {
      const hostile = '\'; rm -rf / #"$(id)`id`‘’“”\n\\';
      scriptInvocations({ [A]: [{ Status: 'Success' }], [B]: [{ Status: 'Success' }] });
      const { s } = await startWithFile({ 'ci/vm.json': strToU8(JSON.stringify({ parameters: { SUITE: hostile } })) });
      const send = await emulator().waitForCall('ssm', 'SendCommand');
      const lines: string[] = Object.entries(send.input).filter(([k]) => k.startsWith('Parameters.commands')).map(([, v]) => v as string);
      const script = [...(lines.length ? lines : send.input.Parameters.commands).filter((l: string) => l.startsWith('export ')), 'printf %s "$SUITE"'].join('\n');
      expect(execFileSync('bash', ['-c', script], { encoding: 'utf8' })).toBe(hostile);
      await emulator().waitForExecution(`${s.stateMachineArn.replace(':stateMachine:', ':execution:')}:job-1`);
    });
  });
});
