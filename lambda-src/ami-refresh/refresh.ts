import { StartInstanceRefreshCommand } from '@aws-sdk/client-auto-scaling';
import { z } from 'zod/v3';
import { autoscaling } from './clients';
import { AmiWork, BakeSchema, Config, ConfigSchema, isoIn, StageError } from './config';
import { ACTIVE_REFRESH, recentRefreshes, startedSince } from './group';
import { parseInput } from '../core/input';
import { getRun, recordWork } from '../core/job-table';
import { logger } from '../core/logger';

/*
 * Starts the instance refresh to the new version, once: the run records when it asks for it, and a
 * retry adopts the refresh started since (pinned or not), or one that targets this version; any
 * other refresh under way fails the stage. The refresh is recorded so that a failed or stopped run
 * cancels (or rolls back) it.
 */

const EventSchema = z.object({
  runId: z.string().min(1),
  bake: BakeSchema,
  published: z.object({ launchTemplateVersion: z.number().int() }),
  config: ConfigSchema,
});

export async function refresh(event: unknown): Promise<{ refreshId: string; deadline: string }> {
  const { runId, bake, published, config } = parseInput(EventSchema, event, 'refresh input');
  const settings = config.refresh;
  if (!settings) throw new StageError('the stage has no instance refresh');
  const version = String(published.launchTemplateVersion);
  const requestedAt = ((await getRun(runId))?.work as AmiWork | undefined)?.refreshRequestedAt ?? new Date().toISOString();
  const work: AmiWork = {
    groupName: config.groupName,
    instanceId: bake.instanceId,
    standby: config.capture === 'standby',
    restoreDesiredCapacity: bake.restoreDesiredCapacity,
    refreshRequestedAt: requestedAt,
    autoRollback: settings.preferences.AutoRollback,
  };
  let refreshId = await adoptable(config, version, requestedAt);
  if (!refreshId) {
    // Recorded before the call: an answer lost on the way back still leaves the run its refresh.
    await recordWork(runId, { ...work });
    try {
      const out = await autoscaling().send(new StartInstanceRefreshCommand({
        AutoScalingGroupName: config.groupName,
        Strategy: 'Rolling',
        DesiredConfiguration: settings.pinVersion ? desiredConfiguration(config, bake.mixedInstancesPolicy, version) : undefined,
        Preferences: settings.preferences,
      }));
      refreshId = out.InstanceRefreshId!;
    } catch (err) {
      if ((err as Error).name !== 'InstanceRefreshInProgress') throw err;
      refreshId = await adoptable(config, version, requestedAt);
      if (!refreshId) throw new StageError(`Auto Scaling group ${config.groupName} has another instance refresh in progress`);
    }
  }
  await recordWork(runId, { ...work, refreshId });
  logger.info('instance refresh started', { refreshId, version });
  return { refreshId, deadline: isoIn(settings.timeoutSeconds) };
}

function desiredConfiguration(config: Config, mixed: boolean, version: string) {
  const spec = { LaunchTemplateId: config.launchTemplateId, Version: version };
  return mixed ? { MixedInstancesPolicy: { LaunchTemplate: { LaunchTemplateSpecification: spec } } } : { LaunchTemplate: spec };
}

/** The run's own refresh (an earlier attempt started it), or the one under way that targets this version. */
async function adoptable(config: Config, version: string, requestedAt: string): Promise<string | undefined> {
  const refreshes = await recentRefreshes(config.groupName);
  const own = startedSince(refreshes, requestedAt);
  if (own) return own.InstanceRefreshId;
  const running = refreshes.find(r => ACTIVE_REFRESH.includes(r.Status ?? ''));
  if (!running) return undefined;
  const desired = running.DesiredConfiguration;
  const spec = desired?.LaunchTemplate ?? desired?.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
  if (spec?.LaunchTemplateId === config.launchTemplateId && spec.Version === version) return running.InstanceRefreshId;
  throw new StageError(`Auto Scaling group ${config.groupName} has instance refresh ${running.InstanceRefreshId} in progress (${running.Status})`);
}
