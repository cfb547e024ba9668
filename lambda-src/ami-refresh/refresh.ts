import { InstanceRefresh, StartInstanceRefreshCommand } from '@aws-sdk/client-auto-scaling';
import { z } from 'zod/v3';
import { autoscaling } from './clients';
import { AmiWork, BakeSchema, Config, ConfigSchema, isoIn, StageError } from './config';
import { activeRefresh } from './group';
import { parseInput } from '../core/input';
import { recordWork } from '../core/job-table';
import { logger } from '../core/logger';

/*
 * Starts the instance refresh to the new version, once: a retry adopts the refresh that targets
 * this version; any other refresh under way fails the stage. The refresh is recorded so that a
 * failed or stopped run cancels (or rolls back) it.
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
  let refreshId = await adoptable(config, version);
  if (!refreshId) {
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
      refreshId = await adoptable(config, version);
      if (!refreshId) throw new StageError(`Auto Scaling group ${config.groupName} has another instance refresh in progress`);
    }
  }
  const work: AmiWork = {
    groupName: config.groupName,
    instanceId: bake.instanceId,
    standby: config.capture === 'standby',
    restoreDesiredCapacity: bake.restoreDesiredCapacity,
    refreshId,
    autoRollback: settings.preferences.AutoRollback,
  };
  await recordWork(runId, { ...work });
  logger.info('instance refresh started', { refreshId, version });
  return { refreshId, deadline: isoIn(settings.timeoutSeconds) };
}

function desiredConfiguration(config: Config, mixed: boolean, version: string) {
  const spec = { LaunchTemplateId: config.launchTemplateId, Version: version };
  return mixed ? { MixedInstancesPolicy: { LaunchTemplate: { LaunchTemplateSpecification: spec } } } : { LaunchTemplate: spec };
}

/** The refresh under way that targets this version (a retry's first attempt started it). */
async function adoptable(config: Config, version: string): Promise<string | undefined> {
  const running: InstanceRefresh | undefined = await activeRefresh(config.groupName);
  if (!running) return undefined;
  const desired = running.DesiredConfiguration;
  const spec = desired?.LaunchTemplate ?? desired?.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
  if (spec?.LaunchTemplateId === config.launchTemplateId && spec.Version === version) return running.InstanceRefreshId;
  throw new StageError(`Auto Scaling group ${config.groupName} has instance refresh ${running.InstanceRefreshId} in progress (${running.Status})`);
}
