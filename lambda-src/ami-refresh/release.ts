import { CopyImageCommand } from '@aws-sdk/client-ec2';
import { z } from 'zod/v3';
import { exitStandby } from './cleanup';
import { ec2 } from './clients';
import { BakeSchema, ConfigSchema, isoIn } from './config';
import { imageTags } from './image';
import { findImageByName } from './prepare';
import { parseInput } from '../core/input';
import { logger } from '../core/logger';

/*
 * After the image is available: the instance returns to service, and the encrypted copy (when the
 * stage has a key) is started once, found by its name on a retry. Returns the image to publish.
 */

const EventSchema = z.object({
  bake: BakeSchema,
  image: z.object({ imageId: z.string().min(1) }),
  config: ConfigSchema,
});

export async function release(event: unknown): Promise<{ imageId: string; deadline?: string }> {
  const { bake, image, config } = parseInput(EventSchema, event, 'release input');
  await exitStandby({
    groupName: config.groupName, instanceId: bake.instanceId, standby: config.capture === 'standby', restoreDesiredCapacity: bake.restoreDesiredCapacity,
  });
  const kmsKeyId = config.copy.kmsKeyArn;
  if (!kmsKeyId) return { imageId: image.imageId };
  const name = `${bake.imageName}-encrypted`.slice(0, 128);
  const existing = await findImageByName(name);
  const imageId = existing ?? (await ec2().send(new CopyImageCommand({
    SourceImageId: image.imageId,
    SourceRegion: process.env.AWS_REGION,
    Name: name,
    Encrypted: true,
    KmsKeyId: kmsKeyId,
    TagSpecifications: [{ ResourceType: 'image', Tags: imageTags(config, bake) }, { ResourceType: 'snapshot', Tags: imageTags(config, bake) }],
  }))).ImageId!;
  logger.info('encrypted copy started', { sourceImageId: image.imageId, imageId });
  return { imageId, deadline: isoIn(config.imageTimeoutSeconds) };
}
