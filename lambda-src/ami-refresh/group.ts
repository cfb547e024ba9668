import {
  AutoScalingGroup, DescribeAutoScalingGroupsCommand, DescribeAutoScalingInstancesCommand, DescribeInstanceRefreshesCommand,
  InstanceRefresh, LaunchTemplateSpecification,
} from '@aws-sdk/client-auto-scaling';
import { DescribeLaunchTemplateVersionsCommand, LaunchTemplateVersion } from '@aws-sdk/client-ec2';
import { autoscaling, ec2 } from './clients';
import { StageError } from './config';

/** Refresh statuses of a refresh that still runs: no second one can start. */
export const ACTIVE_REFRESH = ['Pending', 'InProgress', 'Cancelling', 'RollbackInProgress', 'Baking'];

export async function describeGroup(groupName: string): Promise<AutoScalingGroup> {
  const out = await autoscaling().send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }));
  const group = out.AutoScalingGroups?.[0];
  if (!group) throw new StageError(`Auto Scaling group ${groupName} does not exist`);
  return group;
}

/** The launch template the group launches from: its own, or its mixed instances policy's. */
export function groupLaunchTemplate(group: AutoScalingGroup): { spec: LaunchTemplateSpecification; mixed: boolean } {
  const mixed = group.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
  const spec = group.LaunchTemplate ?? mixed;
  if (!spec) {
    const uses = group.LaunchConfigurationName ? `it uses launch configuration ${group.LaunchConfigurationName}` : 'it has none';
    throw new StageError(`Auto Scaling group ${group.AutoScalingGroupName} has no launch template (${uses})`);
  }
  return { spec, mixed: !group.LaunchTemplate };
}

/** The version a group names (`$Latest`, `$Default` or a number), resolved to its number and data. */
export async function resolveVersion(launchTemplateId: string, version: string): Promise<LaunchTemplateVersion> {
  const out = await ec2().send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: launchTemplateId, Versions: [version] }));
  const found = out.LaunchTemplateVersions?.[0];
  if (!found?.VersionNumber) throw new StageError(`launch template ${launchTemplateId} has no version ${version}`);
  return found;
}

/** The group's refresh that still runs, if any (refreshes are listed newest first). */
export async function activeRefresh(groupName: string): Promise<InstanceRefresh | undefined> {
  const out = await autoscaling().send(new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: groupName, MaxRecords: 10 }));
  return (out.InstanceRefreshes ?? []).find(r => ACTIVE_REFRESH.includes(r.Status ?? ''));
}

/** An instance's lifecycle state in its group, or undefined when it left the group. */
export async function lifecycleState(instanceId: string): Promise<string | undefined> {
  const out = await autoscaling().send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }));
  return out.AutoScalingInstances?.[0]?.LifecycleState;
}
