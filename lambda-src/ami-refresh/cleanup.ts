import {
  CancelInstanceRefreshCommand, DescribeInstanceRefreshesCommand, ExitStandbyCommand, RollbackInstanceRefreshCommand, SetDesiredCapacityCommand,
} from '@aws-sdk/client-auto-scaling';
import { autoscaling } from './clients';
import { AmiWork, InstanceNotReady } from './config';
import { ACTIVE_REFRESH, describeGroup, lifecycleState, recentRefreshes, startedSince } from './group';
import { reasonOf } from '../core/errors';
import { logger } from '../core/logger';

/**
 * Returns the instance the run put into Standby to service. Returns whether it was in Standby.
 * An instance still entering Standby throws InstanceNotReady (the caller tries again).
 */
export async function exitStandby(work: Pick<AmiWork, 'groupName' | 'instanceId' | 'standby' | 'restoreDesiredCapacity'>): Promise<boolean> {
  if (!work.standby || !work.instanceId) return false;
  const state = await lifecycleState(work.instanceId);
  if (state === 'EnteringStandby' || state?.startsWith('Standby:')) throw new InstanceNotReady(`instance ${work.instanceId} is ${state}`);
  if (state === undefined) return false;
  const inStandby = state === 'Standby';
  if (inStandby) {
    await autoscaling().send(new ExitStandbyCommand({ AutoScalingGroupName: work.groupName, InstanceIds: [work.instanceId] }));
    logger.info('instance returned to service', { instanceId: work.instanceId });
  }
  // Also after a retry whose first ExitStandby went through unanswered.
  if (work.restoreDesiredCapacity !== undefined) await restoreDesiredCapacity(work.groupName, work.restoreDesiredCapacity);
  return inStandby;
}

/**
 * ExitStandby raised by one the desired capacity that EnterStandby kept: it goes back to what it
 * was. A group found at any other capacity (already restored, or scaled since) is left as it is.
 */
async function restoreDesiredCapacity(groupName: string, capacity: number): Promise<void> {
  const group = await describeGroup(groupName);
  if (group.DesiredCapacity !== capacity + 1 || capacity < (group.MinSize ?? 0)) return;
  await autoscaling().send(new SetDesiredCapacityCommand({ AutoScalingGroupName: groupName, DesiredCapacity: capacity, HonorCooldown: false }));
  logger.info('desired capacity restored', { groupName, desiredCapacity: capacity });
}

/**
 * Cancels the run's refresh, or rolls it back when auto-rollback is on, if it still runs; a refresh
 * whose id the run never got is found by when it was asked for. Returns what was done.
 */
export async function stopRefresh(work: AmiWork): Promise<string | undefined> {
  const refreshId = work.refreshId
    ?? (work.refreshRequestedAt ? startedSince(await recentRefreshes(work.groupName), work.refreshRequestedAt)?.InstanceRefreshId : undefined);
  if (!refreshId) return undefined;
  const out = await autoscaling().send(new DescribeInstanceRefreshesCommand({
    AutoScalingGroupName: work.groupName, InstanceRefreshIds: [refreshId],
  }));
  const status = out.InstanceRefreshes?.[0]?.Status;
  if (!status || !ACTIVE_REFRESH.includes(status) || status === 'Cancelling' || status === 'RollbackInProgress') return undefined;
  if (work.autoRollback) {
    await autoscaling().send(new RollbackInstanceRefreshCommand({ AutoScalingGroupName: work.groupName }));
    logger.info('rolled back the instance refresh', { refreshId });
    return `instance refresh ${refreshId} was rolled back`;
  }
  await autoscaling().send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: work.groupName }));
  logger.info('cancelled the instance refresh', { refreshId });
  return `instance refresh ${refreshId} was cancelled`;
}

/**
 * Undoes what a failed or stopped run left: the refresh stops, the instance returns to service.
 * Never throws; what could not be undone is said in the returned sentence.
 */
export async function undoWork(work: AmiWork | undefined): Promise<string | undefined> {
  if (!work) return undefined;
  const said: string[] = [];
  try {
    const stopped = await stopRefresh(work);
    if (stopped) said.push(stopped);
  } catch (err) {
    logger.error('the refresh could not be stopped', { refreshId: work.refreshId, error: reasonOf(err) });
    said.push(`instance refresh ${work.refreshId ?? 'the run asked for'} could not be stopped: ${reasonOf(err)}`);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      if (await exitStandby(work)) said.push(`instance ${work.instanceId} was returned to service`);
      break;
    } catch (err) {
      if (err instanceof InstanceNotReady && attempt < 5) {
        await new Promise(resolve => setTimeout(resolve, 2000));
        continue;
      }
      logger.error('the instance could not be returned to service', { instanceId: work.instanceId, error: reasonOf(err) });
      said.push(`instance ${work.instanceId} could not be returned to service: ${reasonOf(err)}`);
      break;
    }
  }
  return said.length ? said.join('; ') : undefined;
}
