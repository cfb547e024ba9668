import { PutJobSuccessResultCommand, CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { CancelCommandCommand, GetCommandInvocationCommand, GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { EmulatorTestStack } from './fixtures/test-stack';
import { describeWithEmulator } from './harness';

const stack = new EmulatorTestStack();
const template = stack.template();

describeWithEmulator('scripted answers', emulator => {
  test('GetCommandInvocation answers InProgress twice, then Failed (moto answers Success at once)', async () => {
    emulator().script('ssm', 'GetCommandInvocation',
      { body: { Status: 'InProgress' } },
      { body: { Status: 'InProgress' } },
      { body: { Status: 'Failed', StandardErrorContent: 'exit status 1' } });
    const ssm = emulator().client(SSMClient);
    const poll = () => ssm.send(new GetCommandInvocationCommand({ CommandId: 'c-1', InstanceId: 'i-1' }));

    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await poll()).Status);

    expect(statuses).toEqual(['InProgress', 'InProgress', 'Failed', 'Failed']);
    expect(emulator().calls('ssm', 'GetCommandInvocation').map(c => c.input)).toEqual(
      Array(4).fill({ CommandId: 'c-1', InstanceId: 'i-1' }));
  });

  test('a throttled call is retried by the SDK and then succeeds; without retries the SDK sees ThrottlingException', async () => {
    // moto has no CodePipeline job APIs: the answers are scripted.
    const throttled = { error: { code: 'ThrottlingException', message: 'Rate exceeded' } };
    emulator().script('codepipeline', 'PutJobSuccessResult', throttled, throttled, throttled, { body: {} });

    await emulator().client(CodePipelineClient, { maxAttempts: 4 }).send(new PutJobSuccessResultCommand({ jobId: 'job-1' }));
    expect(emulator().calls('codepipeline', 'PutJobSuccessResult')).toHaveLength(4);

    emulator().script('codepipeline', 'PutJobSuccessResult', throttled);
    await expect(emulator().client(CodePipelineClient).send(new PutJobSuccessResultCommand({ jobId: 'job-2' })))
      .rejects.toMatchObject({ name: 'ThrottlingException', message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
  });

  test('an operation moto lacks answers 500 unless scripted, and the scripted call is recorded', async () => {
    const ssm = emulator().client(SSMClient);
    await expect(ssm.send(new CancelCommandCommand({ CommandId: 'c-1' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });

    emulator().script('ssm', 'CancelCommand', { body: {} });
    await ssm.send(new CancelCommandCommand({ CommandId: 'c-2', InstanceIds: ['i-1'] }));

    expect(emulator().calls('ssm', 'CancelCommand').map(c => c.input)).toEqual([
      { CommandId: 'c-1' },
      { CommandId: 'c-2', InstanceIds: ['i-1'] },
    ]);
  });

  test('a responder answers from the input, or lets the call through to moto', async () => {
    emulator().script('ssm', 'GetParameter', input =>
      (input.Name.startsWith('/scripted/') ? { body: { Parameter: { Name: input.Name, Value: 'scripted', Type: 'String' } } } : undefined));
    const ssm = emulator().client(SSMClient);
    await ssm.send(new PutParameterCommand({ Name: '/real/p', Value: 'from moto', Type: 'String' }));

    expect((await ssm.send(new GetParameterCommand({ Name: '/scripted/p' }))).Parameter?.Value).toBe('scripted');
    expect((await ssm.send(new GetParameterCommand({ Name: '/real/p' }))).Parameter?.Value).toBe('from moto');
    await expect(ssm.send(new GetParameterCommand({ Name: '/missing' }))).rejects.toMatchObject({ name: 'ParameterNotFound' });
  });

  test('scripted EC2 and query-protocol answers reach the state machine interpreter as XML', async () => {
    // moto has no instance refreshes, and the instances here do not exist: both answers are scripted.
    emulator().script('ec2', 'DescribeInstances', {
      body: { reservationSet: [{ reservationId: 'r-1', instancesSet: [{ instanceId: 'i-aaa' }, { instanceId: 'i-bbb' }] }] },
    });
    emulator().script('autoscaling', 'StartInstanceRefresh', { body: { InstanceRefreshId: 'refresh-1' } });

    const result = await emulator().runStateMachine(template, stack.logicalId(stack.fleet), { input: { instanceIds: ['i-aaa', 'i-bbb'], group: 'web' } });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ described: { instanceIds: ['i-aaa', 'i-bbb'] }, refresh: { id: 'refresh-1' } });
    expect(result.calls).toEqual([
      { service: 'ec2', operation: 'DescribeInstances', input: { 'InstanceId.1': 'i-aaa', 'InstanceId.2': 'i-bbb' } },
      { service: 'autoscaling', operation: 'StartInstanceRefresh', input: { AutoScalingGroupName: 'web' } },
    ]);
  });

  test('a scripted error fails the aws-sdk task, with the error named as moto names it', async () => {
    // moto spells these names in lower case; AWS says `Ec2.Ec2Exception` (EC2 declares no error types)
    // and `AutoScaling.InstanceRefreshInProgressException`.
    emulator().script('ec2', 'DescribeInstances', { error: { code: 'UnauthorizedOperation', message: 'not allowed' } });
    emulator().script('autoscaling', 'StartInstanceRefresh', { error: { code: 'InstanceRefreshInProgress', message: 'busy' } });
    const fleetId = stack.logicalId(stack.fleet);

    const denied = await emulator().runStateMachine(template, fleetId, { input: { instanceIds: ['i-aaa'], group: 'web' } });
    expect([denied.status, denied.error]).toEqual(['FAILED', 'ec2.ec2Exception']);
    expect(denied.cause).toContain('not allowed');

    emulator().script('ec2', 'DescribeInstances', { body: { reservationSet: [{ reservationId: 'r-1', instancesSet: [{ instanceId: 'i-aaa' }] }] } });
    const busy = await emulator().runStateMachine(template, fleetId, { input: { instanceIds: ['i-aaa'], group: 'web' } });
    expect([busy.status, busy.error]).toEqual(['FAILED', 'autoscaling.InstanceRefreshInProgressFaultException']);
    expect(busy.cause).toContain('busy');
  });
});
