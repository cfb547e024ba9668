import { CreateImageCommand, Tag } from '@aws-sdk/client-ec2';
import { z } from 'zod/v3';
import { ec2 } from './clients';
import { BakeSchema, Config, ConfigSchema, InstanceNotReady, isoIn, StageError } from './config';
import { lifecycleState } from './group';
import { findImageByName } from './prepare';
import { parseInput } from '../core/input';
import { logger } from '../core/logger';

/*
 * Creates the run's image, once: the image is named after the pipeline execution, so a retry (of
 * the step, or of the whole execution) finds it instead of making a second one. Returns the image
 * and the deadline of its wait.
 */

const EventSchema = z.object({ bake: BakeSchema, config: ConfigSchema });

export async function image(event: unknown): Promise<{ imageId: string; deadline: string }> {
  const { bake, config } = parseInput(EventSchema, event, 'image input');
  const deadline = isoIn(config.imageTimeoutSeconds);
  const existing = bake.existingImageId ?? await findImageByName(bake.imageName);
  if (existing) return { imageId: existing, deadline };
  const instanceId = bake.instanceId;
  if (!instanceId) throw new StageError('no instance was chosen to image');
  if (config.capture === 'standby') {
    const state = await lifecycleState(instanceId);
    if (state === 'EnteringStandby' || state?.startsWith('Standby:')) throw new InstanceNotReady(`instance ${instanceId} is ${state}`);
    if (state !== 'Standby') throw new StageError(`instance ${instanceId} did not enter Standby (it is ${state ?? 'no longer in the group'})`);
  }
  try {
    const out = await ec2().send(new CreateImageCommand({
      InstanceId: instanceId,
      Name: bake.imageName,
      Description: `Auto Scaling group ${config.groupName}, pipeline execution ${bake.pipelineExecutionId}`.slice(0, 255),
      NoReboot: config.capture === 'noReboot',
      TagSpecifications: [{ ResourceType: 'image', Tags: imageTags(config, bake) }, { ResourceType: 'snapshot', Tags: imageTags(config, bake) }],
    }));
    logger.info('image creation started', { imageId: out.ImageId, instanceId, name: bake.imageName });
    return { imageId: out.ImageId!, deadline };
  } catch (err) {
    if ((err as Error).name !== 'InvalidAMIName.Duplicate') throw err;
    // An earlier attempt made it, unanswered, and DescribeImages does not list it yet: the state
    // machine tries again (EC2's refusal would end the run and leave the image behind).
    const found = await findImageByName(bake.imageName);
    if (!found) throw new ImageNotListed(`image ${bake.imageName} exists but is not listed yet`);
    return { imageId: found, deadline };
  }
}

/** The run's image exists but DescribeImages does not show it yet: the state machine tries again. */
class ImageNotListed extends Error {
  public override readonly name = 'ImageNotListed';
}

/** The tags of the run's images and snapshots: the user's, then the stage's own (which win). */
export function imageTags(config: Config, bake: { pipelineExecutionId: string; commitId: string }): Tag[] {
  const tags: Record<string, string> = {
    ...config.tags,
    AutoScalingGroup: config.groupName,
    PipelineExecutionId: bake.pipelineExecutionId,
    ...(bake.commitId ? { Commit: bake.commitId } : {}),
    [config.stageTag.key]: config.stageTag.value,
  };
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}
