import { AutoScalingGroup, EnterStandbyCommand, Instance } from '@aws-sdk/client-auto-scaling';
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { z } from 'zod/v3';
import { autoscaling, ec2 } from './clients';
import { AmiWork, Bake, ConfigSchema, imageName, StageError } from './config';
import { activeRefresh, describeGroup, groupLaunchTemplate, resolveVersion } from './group';
import { parseInput } from '../core/input';
import { getRun, recordWork } from '../core/job-table';
import { logger } from '../core/logger';

/*
 * The run's first step: checks the group (a launch template, no refresh running, a configuration
 * that can roll back when asked), finds the image a retried execution already started, or picks a
 * healthy InService instance on the version the group uses and, for a Standby capture, records it
 * and moves it to Standby. A retry of this step keeps the instance the run recorded.
 */

const EventSchema = z.object({
  runId: z.string().min(1),
  pipelineExecutionId: z.string().min(1),
  commitId: z.string().default(''),
  config: ConfigSchema,
});

export async function prepare(event: unknown): Promise<Bake> {
  const { runId, pipelineExecutionId, commitId, config } = parseInput(EventSchema, event, 'prepare input');
  const group = await describeGroup(config.groupName);
  const { spec, mixed } = groupLaunchTemplate(group);
  if (spec.LaunchTemplateId !== config.launchTemplateId) {
    throw new StageError(`Auto Scaling group ${config.groupName} launches from ${spec.LaunchTemplateId ?? spec.LaunchTemplateName}, `
      + `not from the stage's launch template ${config.launchTemplateId}`);
  }
  const groupVersion = spec.Version ?? '$Default';
  const version = await resolveVersion(config.launchTemplateId, groupVersion);
  const running = await activeRefresh(config.groupName);
  if (running) {
    throw new StageError(`Auto Scaling group ${config.groupName} is in the middle of instance refresh ${running.InstanceRefreshId} (${running.Status}); `
      + 'the stage starts no image while a refresh replaces instances');
  }
  if (config.refresh?.preferences.AutoRollback) {
    if (!/^\d+$/.test(groupVersion)) {
      throw new StageError(`instance refresh auto-rollback needs Auto Scaling group ${config.groupName} to use a launch template version number, not ${groupVersion}`);
    }
    if (version.LaunchTemplateData?.ImageId?.startsWith('resolve:ssm:')) {
      throw new StageError(`instance refresh auto-rollback does not work with an image id from an SSM parameter (${version.LaunchTemplateData.ImageId})`);
    }
  }
  const name = imageName(config.imageName, config.groupName, pipelineExecutionId);
  const base = { imageName: name, sourceVersion: version.VersionNumber!, groupVersion, mixedInstancesPolicy: mixed, pipelineExecutionId, commitId };

  const existing = await findImageByName(name);
  if (existing) {
    logger.info('the execution made its image already', { imageId: existing, name });
    return { ...base, existingImageId: existing };
  }
  const recorded = (await getRun(runId))?.work as AmiWork | undefined;
  const instanceId = recorded?.instanceId ?? pickInstance(group, config.launchTemplateId, version.VersionNumber!, groupVersion);
  const standby = config.capture === 'standby';
  // The desired capacity is lowered when the minimum allows it; otherwise it is kept (a replacement
  // launches) and, as ExitStandby raises it, put back afterwards. A retry keeps the first attempt's choice.
  const decrement = (group.DesiredCapacity ?? 0) > (group.MinSize ?? 0);
  const restoreDesiredCapacity = recorded?.instanceId ? recorded.restoreDesiredCapacity : standby && !decrement ? group.DesiredCapacity : undefined;
  const work: AmiWork = { groupName: config.groupName, instanceId, standby, restoreDesiredCapacity };
  await recordWork(runId, { ...work });
  // A retry finds the instance on its way to Standby already (the first attempt's call went through).
  const state = group.Instances?.find(i => i.InstanceId === instanceId)?.LifecycleState;
  if (standby && state === 'InService') await enterStandby(group.AutoScalingGroupName!, instanceId, restoreDesiredCapacity === undefined);
  logger.info('instance chosen', { instanceId, launchTemplateVersion: version.VersionNumber, capture: config.capture });
  return { ...base, instanceId, restoreDesiredCapacity };
}

/** The image of this name the account owns, if any. */
export async function findImageByName(name: string, client = ec2()): Promise<string | undefined> {
  const out = await client.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: [name] }] }));
  return out.Images?.find(i => i.Name === name)?.ImageId;
}

/**
 * A healthy InService instance launched from the version the group uses (for a mixed instances
 * policy, from its own launch template, not an override's); the lowest id, so that retries agree.
 */
function pickInstance(group: AutoScalingGroup, launchTemplateId: string, versionNumber: number, groupVersion: string): string {
  const instances = group.Instances ?? [];
  const onVersion = (v?: string) => v === String(versionNumber) || v === groupVersion;
  const fit = instances
    .filter(i => i.LifecycleState === 'InService' && i.HealthStatus === 'Healthy')
    .filter(i => i.LaunchTemplate?.LaunchTemplateId === launchTemplateId && onVersion(i.LaunchTemplate.Version))
    .map(i => i.InstanceId!)
    .sort();
  if (fit.length) return fit[0];
  const seen = instances.map(describeInstance).join(', ') || 'none';
  throw new StageError(`Auto Scaling group ${group.AutoScalingGroupName} has no healthy InService instance on launch template `
    + `${launchTemplateId} version ${versionNumber}; its instances: ${seen}`);
}

function describeInstance(i: Instance): string {
  const lt = i.LaunchTemplate ? ` ${i.LaunchTemplate.LaunchTemplateId ?? i.LaunchTemplate.LaunchTemplateName}:${i.LaunchTemplate.Version}` : '';
  return `${i.InstanceId} ${i.LifecycleState}/${i.HealthStatus}${lt}`;
}

/**
 * Moves the instance to Standby. With `decrement` the desired capacity is lowered (no replacement
 * is launched); otherwise Auto Scaling launches one to keep the capacity.
 */
async function enterStandby(groupName: string, instanceId: string, decrement: boolean): Promise<void> {
  await autoscaling().send(new EnterStandbyCommand({
    AutoScalingGroupName: groupName, InstanceIds: [instanceId], ShouldDecrementDesiredCapacity: decrement,
  }));
  logger.info('instance entered Standby', { instanceId, decrementedDesiredCapacity: decrement });
}
