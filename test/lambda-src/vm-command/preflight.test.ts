import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ListGroupResourcesCommand, ResourceGroupsClient } from '@aws-sdk/client-resource-groups';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { preflight as handler } from '../../../lambda-src/vm-command/preflight';

const ssm = mockClient(SSMClient);
const ec2 = mockClient(EC2Client);
const groups = mockClient(ResourceGroupsClient);
const A = 'i-0123456789abcdef0';
const B = 'mi-0123456789abcdef1';
const C = 'i-0123456789abcdef2';
const D = 'i-0123456789abcdef3';

function reservations(...ids: string[]) {
  return { Reservations: [{ Instances: ids.map(InstanceId => ({ InstanceId })) }] };
}

beforeEach(() => {
  ssm.reset();
  ec2.reset();
  groups.reset();
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
});

test('instance ids that are all online pass', async () => {
  ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: A, PingStatus: 'Online' }, { InstanceId: B, PingStatus: 'Online' }] });
  await expect(handler({ targets: { instanceIds: [A, B] } })).resolves.toMatchObject({ instanceIds: [A, B] });
  expect(ssm.commandCalls(DescribeInstanceInformationCommand)[0].args[0].input.Filters).toEqual([{ Key: 'InstanceIds', Values: [A, B] }]);
});

test('an offline or unmanaged instance fails fast, naming each one', async () => {
  ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: A, PingStatus: 'ConnectionLost' }] });
  const error = await handler({ targets: { instanceIds: [A, B] } }).catch(e => e);
  expect(error.name).toBe('InstanceNotReachable');
  expect(error.message).toBe(`instance ${A} is not reachable by SSM (PingStatus: ConnectionLost); instance ${B} is not managed by SSM`);
  expect(ec2.calls()).toHaveLength(0);
});

test('tag targets resolve through SSM tag filters, across pages', async () => {
  ssm.on(DescribeInstanceInformationCommand)
    .resolvesOnce({ InstanceInformationList: [{ InstanceId: A, PingStatus: 'Online' }], NextToken: 't' })
    .resolves({ InstanceInformationList: [{ InstanceId: B, PingStatus: 'Online' }] });
  await expect(handler({ targets: { tags: { Env: ['prod'], Role: ['web', 'api'] } } })).resolves.toMatchObject({ instanceIds: [A, B] });
  const calls = ssm.commandCalls(DescribeInstanceInformationCommand).map(c => c.args[0].input);
  expect(calls[0].Filters).toEqual([{ Key: 'tag:Env', Values: ['prod'] }, { Key: 'tag:Role', Values: ['web', 'api'] }]);
  expect(calls[1].NextToken).toBe('t');
});

test('tag targets also list the running EC2 instances carrying the tags, across pages', async () => {
  ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: A, PingStatus: 'Online' }, { InstanceId: B, PingStatus: 'Online' }] });
  ec2.on(DescribeInstancesCommand)
    .resolvesOnce({ ...reservations(A), NextToken: 'e' })
    .resolves({ Reservations: [{ Instances: [{}] }, {}] }); // entries without an id are skipped
  // B is a hybrid node: it has no EC2 record and comes from SSM only.
  await expect(handler({ targets: { tags: { Env: ['prod'], Role: ['web', 'api'] } } })).resolves.toMatchObject({ instanceIds: [A, B] });
  const calls = ec2.commandCalls(DescribeInstancesCommand).map(c => c.args[0].input);
  expect(calls[0].Filters).toEqual([
    { Name: 'tag:Env', Values: ['prod'] },
    { Name: 'tag:Role', Values: ['web', 'api'] },
    { Name: 'instance-state-name', Values: ['running'] },
  ]);
  expect(calls[0].NextToken).toBeUndefined();
  expect(calls[1]).toEqual({ ...calls[0], NextToken: 'e' });
});

test('a running tagged instance that SSM does not manage fails fast, with every other problem', async () => {
  ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: A, PingStatus: 'Online' }, { InstanceId: D, PingStatus: 'ConnectionLost' }] });
  ec2.on(DescribeInstancesCommand).resolvesOnce({ ...reservations(A, C), NextToken: 'e' }).resolves(reservations(D));
  const error = await handler({ targets: { tags: { Env: ['prod'] } } }).catch(e => e);
  expect(error.name).toBe('InstanceNotReachable');
  expect(error.message).toBe(`instance ${D} is not reachable by SSM (PingStatus: ConnectionLost); instance ${C} is not managed by SSM`);
});

test('tagged instances none of which SSM manages are named, not reported as no match', async () => {
  ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
  ec2.on(DescribeInstancesCommand).resolves(reservations(A, C));
  const error = await handler({ targets: { tags: { Env: ['prod'] } } }).catch(e => e);
  expect(error.name).toBe('InstanceNotReachable');
  expect(error.message).toBe(`instance ${A} is not managed by SSM; instance ${C} is not managed by SSM`);
});

test('no instance matching the tags is an error, not a silent success', async () => {
  ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
  const error = await handler({ targets: { tags: { Env: ['prod'] } } }).catch(e => e);
  expect(error.name).toBe('NoTargetsMatched');
  expect(error.message).toBe('no instances matched tags Env=prod');
  expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(1);
});

test('resource group members are resolved from their ARNs and checked', async () => {
  groups.on(ListGroupResourcesCommand)
    .resolvesOnce({ Resources: [{ Identifier: { ResourceArn: `arn:aws:ec2:us-east-1:123456789012:instance/${A}` } }], NextToken: 'n' })
    .resolves({ Resources: [{ Identifier: { ResourceArn: `arn:aws:ssm:us-east-1:123456789012:managed-instance/${B}` } }] });
  ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: A, PingStatus: 'Online' }, { InstanceId: B, PingStatus: 'Online' }] });
  await expect(handler({ targets: { resourceGroup: 'scanners' } })).resolves.toMatchObject({ instanceIds: [A, B] });
  expect(groups.commandCalls(ListGroupResourcesCommand)[0].args[0].input.Group).toBe('scanners');
  expect(ec2.calls()).toHaveLength(0);
});

test('an EC2 member of a resource group that SSM does not manage fails fast', async () => {
  groups.on(ListGroupResourcesCommand).resolves({ Resources: [{ Identifier: { ResourceArn: `arn:aws:ec2:us-east-1:123456789012:instance/${C}` } }] });
  ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
  await expect(handler({ targets: { resourceGroup: 'scanners' } })).rejects.toThrow(`instance ${C} is not managed by SSM`);
});

// Step Functions quotas: 256 KiB per state, and States.DataLimitExceeded is caught by no Catch.
test('more instances than the run\'s state can carry fail pre-flight, saying why and how many', async () => {
  const ids = Array.from({ length: 5000 }, (_, i) => `i-${i.toString(16).padStart(17, '0')}`);
  groups.on(ListGroupResourcesCommand).resolves({ Resources: ids.map(id => ({ Identifier: { ResourceArn: `arn:aws:ec2:us-east-1:123456789012:instance/${id}` } })) });
  ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: ids.map(InstanceId => ({ InstanceId, PingStatus: 'Online' })) });
  await expect(handler({ targets: { resourceGroup: 'fleet' } })).rejects.toMatchObject({
    name: 'TooManyTargets', message: expect.stringMatching(/^5000 instances matched resource group fleet: .*256 KiB.*split the targets over several stages$/),
  });
});

test('an empty resource group is an error', async () => {
  groups.on(ListGroupResourcesCommand).resolves({ Resources: [] });
  await expect(handler({ targets: { resourceGroup: 'empty' } })).rejects.toThrow('no instances matched resource group empty');
  expect(ssm.calls()).toHaveLength(0);
});

test('malformed input is rejected', async () => {
  await expect(handler({ targets: {} })).rejects.toThrow(/^pre-flight input is invalid: `targets`: expected exactly one of/);
});

test('targets chosen by the parameters file replace the stage\'s, and the resolved targets are returned for the send step', async () => {
  ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: B, PingStatus: 'Online' }] });
  await expect(handler({ targets: { instanceIds: [A] }, fileTargets: { instanceIds: [B] } }))
    .resolves.toEqual({ instanceIds: [B], targets: { instanceIds: [B] } });
  expect(ssm.commandCalls(DescribeInstanceInformationCommand)[0].args[0].input.Filters).toEqual([{ Key: 'InstanceIds', Values: [B] }]);
});
