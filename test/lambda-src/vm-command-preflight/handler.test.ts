import { ListGroupResourcesCommand, ResourceGroupsClient } from '@aws-sdk/client-resource-groups';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../../lambda-src/vm-command-preflight/handler';

const ssm = mockClient(SSMClient);
const groups = mockClient(ResourceGroupsClient);
const A = 'i-0123456789abcdef0';
const B = 'mi-0123456789abcdef1';

beforeEach(() => { ssm.reset(); groups.reset(); });

test('instance ids that are all online pass', async () => {
  ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: A, PingStatus: 'Online' }, { InstanceId: B, PingStatus: 'Online' }] });
  await expect(handler({ targets: { instanceIds: [A, B] } })).resolves.toEqual({ instanceIds: [A, B] });
  expect(ssm.commandCalls(DescribeInstanceInformationCommand)[0].args[0].input.Filters).toEqual([{ Key: 'InstanceIds', Values: [A, B] }]);
});

test('an offline or unregistered instance fails fast, naming each one', async () => {
  ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: A, PingStatus: 'ConnectionLost' }] });
  const error = await handler({ targets: { instanceIds: [A, B] } }).catch(e => e);
  expect(error.name).toBe('InstanceNotReachable');
  expect(error.message).toBe(`instance ${A} is not reachable by SSM (PingStatus: ConnectionLost); instance ${B} is not reachable by SSM (not registered with SSM)`);
});

test('tag targets resolve through SSM tag filters, across pages', async () => {
  ssm.on(DescribeInstanceInformationCommand)
    .resolvesOnce({ InstanceInformationList: [{ InstanceId: A, PingStatus: 'Online' }], NextToken: 't' })
    .resolves({ InstanceInformationList: [{ InstanceId: B, PingStatus: 'Online' }] });
  await expect(handler({ targets: { tags: { Env: ['prod'], Role: ['web', 'api'] } } })).resolves.toEqual({ instanceIds: [A, B] });
  const calls = ssm.commandCalls(DescribeInstanceInformationCommand).map(c => c.args[0].input);
  expect(calls[0].Filters).toEqual([{ Key: 'tag:Env', Values: ['prod'] }, { Key: 'tag:Role', Values: ['web', 'api'] }]);
  expect(calls[1].NextToken).toBe('t');
});

test('no instance matching the tags is an error, not a silent success', async () => {
  ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
  const error = await handler({ targets: { tags: { Env: ['prod'] } } }).catch(e => e);
  expect(error.name).toBe('NoTargetsMatched');
  expect(error.message).toBe('no instances matched tags Env=prod');
});

test('resource group members are resolved from their ARNs and checked', async () => {
  groups.on(ListGroupResourcesCommand)
    .resolvesOnce({ Resources: [{ Identifier: { ResourceArn: `arn:aws:ec2:us-east-1:123456789012:instance/${A}` } }], NextToken: 'n' })
    .resolves({ Resources: [{ Identifier: { ResourceArn: `arn:aws:ssm:us-east-1:123456789012:managed-instance/${B}` } }] });
  ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: A, PingStatus: 'Online' }, { InstanceId: B, PingStatus: 'Online' }] });
  await expect(handler({ targets: { resourceGroup: 'scanners' } })).resolves.toEqual({ instanceIds: [A, B] });
  expect(groups.commandCalls(ListGroupResourcesCommand)[0].args[0].input.Group).toBe('scanners');
});

test('an empty resource group is an error', async () => {
  groups.on(ListGroupResourcesCommand).resolves({ Resources: [] });
  await expect(handler({ targets: { resourceGroup: 'empty' } })).rejects.toThrow('no instances matched resource group empty');
  expect(ssm.calls()).toHaveLength(0);
});

test('malformed input is rejected', async () => {
  await expect(handler({ targets: {} })).rejects.toThrow(/^pre-flight input is invalid: `targets`: expected exactly one of/);
});
