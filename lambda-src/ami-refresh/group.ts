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

/** The group's latest refreshes, newest first. */
export async function recentRefreshes(groupName: string): Promise<InstanceRefresh[]> {
  const out = await autoscaling().send(new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: groupName, MaxRecords: 10 }));
  return out.InstanceRefreshes ?? [];
}

/** The group's refresh that still runs, if any. */
export async function activeRefresh(groupName: string): Promise<InstanceRefresh | undefined> {
  return (await recentRefreshes(groupName)).find(r => ACTIVE_REFRESH.includes(r.Status ?? ''));
}

/** Clocks of the function and of Auto Scaling may differ by this much. */
const CLOCK_SKEW_MS = 5_000;

/**
 * The refresh a run started, found by time: the run records when it first asked for one, and
 * Prepare saw none running, so a refresh of the group that started since is the run's own (a
 * second StartInstanceRefresh would have been refused while it ran).
 */
export function startedSince(refreshes: InstanceRefresh[], requestedAt: string): InstanceRefresh | undefined {
  const since = Date.parse(requestedAt) - CLOCK_SKEW_MS;
  return refreshes.find(r => r.StartTime !== undefined && new Date(r.StartTime).getTime() >= since);
}

/** An instance's lifecycle state in its group, or undefined when it left the group. */
export async function lifecycleState(instanceId: string): Promise<string | undefined> {
  const out = await autoscaling().send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }));
  return out.AutoScalingInstances?.[0]?.LifecycleState;
}
