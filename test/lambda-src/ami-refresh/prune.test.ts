import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  DeleteSnapshotCommand, DeregisterImageCommand, DescribeImageAttributeCommand, DescribeImagesCommand, DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand, DescribeLaunchTemplateVersionsCommand, EC2Client, Image,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { Config } from '../../../lambda-src/ami-refresh/config';
import { prune } from '../../../lambda-src/ami-refresh/prune';

/*
 * Pruning's choices in-process (the emulator tests run the shipped bundle on moto, which has no
 * shared images and dates every image now).
 */

const ec2 = mockClient(EC2Client);
const autoscaling = mockClient(AutoScalingClient);
const DAY = 24 * 3600 * 1000;

const config = (pruning: Config['pruning']): Config => ({
  groupName: 'web',
  launchTemplateId: 'lt-web',
  capture: 'standby',
  imageName: '{group}-{executionId}',
  tags: {},
  stageTag: { key: 'cdk-pipeline-stages:ami-refresh-stage', value: 'c8abc' },
  imageTimeoutSeconds: 3600,
  copy: { regions: [] },
  shareWithAccounts: [],
  publish: { makeDefault: false, updateGroup: true },
  pruning,
});

function image(id: string, daysAgo: number, snapshots: string[] = []): Image {
  return {
    ImageId: id,
    State: 'available',
    CreationDate: new Date(Date.now() - daysAgo * DAY).toISOString(),
    BlockDeviceMappings: snapshots.map(s => ({ DeviceName: '/dev/xvda', Ebs: { SnapshotId: s } })),
  };
}

beforeEach(() => {
  ec2.reset();
  autoscaling.reset();
  ec2.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: [{ LaunchTemplateId: 'lt-web' }, { LaunchTemplateId: 'lt-other' }] });
  // An override of a mixed instances policy pins version 3 of a third template.
  autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [{
      AutoScalingGroupName: 'api',
      MinSize: 1,
      MaxSize: 2,
      DesiredCapacity: 1,
      DefaultCooldown: 300,
      AvailabilityZones: ['a'],
      HealthCheckType: 'EC2',
      CreatedTime: new Date(),
      MixedInstancesPolicy: { LaunchTemplate: { Overrides: [{ LaunchTemplateSpecification: { LaunchTemplateId: 'lt-api', Version: '3' } }] } },
    }],
  });
  ec2.on(DescribeLaunchTemplateVersionsCommand).resolves({ LaunchTemplateVersions: [] });
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
  ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [] });
  ec2.on(DeregisterImageCommand).resolves({});
  ec2.on(DeleteSnapshotCommand).resolves({});
});

test('keeps the newest N and every image in use or shared; deregisters the rest and deletes their snapshots', async () => {
  ec2.on(DescribeImagesCommand).resolves({
    Images: [image('ami-new', 0), image('ami-2', 1), image('ami-3', 2, ['snap-3a', 'snap-3b']), image('ami-4', 3), image('ami-5', 4), image('ami-6', 5), image('ami-7', 6)],
  });
  ec2.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: 'lt-other' }).resolves({ LaunchTemplateVersions: [{ VersionNumber: 1, LaunchTemplateData: { ImageId: 'ami-4' } }] });
  ec2.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: 'lt-api' }).resolves({ LaunchTemplateVersions: [{ VersionNumber: 3, LaunchTemplateData: { ImageId: 'ami-5' } }] });
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-1', ImageId: 'ami-6' }] }] });
  ec2.on(DescribeImageAttributeCommand, { ImageId: 'ami-7' }).resolves({ LaunchPermissions: [{ UserId: '210987654321' }] });
  // A snapshot another deregistration already removed is fine.
  ec2.on(DeleteSnapshotCommand, { SnapshotId: 'snap-3b' }).rejects(Object.assign(new Error('gone'), { name: 'InvalidSnapshot.NotFound' }));

  const result = await prune({ published: { imageId: 'ami-new' }, config: config({ keep: 2, includeShared: false }) });

  expect(result.deregistered).toEqual(['ami-3']);
  expect([...result.kept].sort()).toEqual([
    'ami-4 (launch template lt-other version 1 uses it)',
    'ami-5 (launch template lt-api version 3 uses it)',
    'ami-6 (instance i-1 runs it)',
    'ami-7 (shared with 1 account(s) or group(s))',
  ]);
  expect(result.problems).toEqual([]);
  expect(ec2.commandCalls(DeleteSnapshotCommand).map(c => c.args[0].input.SnapshotId)).toEqual(['snap-3a', 'snap-3b']);
  // The override's pinned version is looked at, beside each template's default and latest.
  expect(ec2.commandCalls(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: 'lt-api' })[0].args[0].input.Versions).toEqual(['$Default', '$Latest', '3']);
  expect(ec2.commandCalls(DescribeImagesCommand)[0].args[0].input.Filters).toEqual([{ Name: 'tag:cdk-pipeline-stages:ami-refresh-stage', Values: ['c8abc'] }]);
});

test('by age: older than maxAge goes, the newest always stays; shared images go when allowed; failures are problems, not errors', async () => {
  ec2.on(DescribeImagesCommand).resolves({ Images: [image('ami-10', 10), image('ami-8', 11), image('ami-9', 12), image('ami-young', 1)] });
  ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [{ Group: 'all' }] });
  ec2.on(DeregisterImageCommand, { ImageId: 'ami-9' }).rejects(Object.assign(new Error('not authorized'), { name: 'UnauthorizedOperation' }));

  const result = await prune({ published: { imageId: 'ami-young' }, config: config({ maxAgeSeconds: 3 * 24 * 3600, includeShared: true }) });

  expect(result.deregistered.sort()).toEqual(['ami-10', 'ami-8']);
  expect(result.kept).toEqual([]);
  expect(result.problems).toEqual(['ami-9: UnauthorizedOperation: not authorized']);
  expect(ec2.commandCalls(DescribeImageAttributeCommand)).toHaveLength(0);
});

test('a listing that fails leaves everything and reports why', async () => {
  ec2.on(DescribeImagesCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded' }));
  const result = await prune({ published: { imageId: 'ami-new' }, config: config({ keep: 1, includeShared: false }) });
  expect(result).toEqual({ deregistered: [], kept: [], problems: ['RequestLimitExceeded: Rate exceeded'] });
  expect(ec2.commandCalls(DeregisterImageCommand)).toHaveLength(0);
});
