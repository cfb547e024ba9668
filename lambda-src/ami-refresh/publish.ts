import { UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CopyImageCommand, CreateLaunchTemplateVersionCommand, EC2Client, ModifyImageAttributeCommand, ModifyLaunchTemplateCommand } from '@aws-sdk/client-ec2';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod/v3';
import { autoscaling, ec2 } from './clients';
import { BakeSchema, clientToken, Config, ConfigSchema } from './config';
import { imageTags } from './image';
import { findImageByName } from './prepare';
import { pruneVersions, versionDescription } from './versions';
import { REQUEST_LIMITS, awsClient } from '../core/aws-clients';
import { reasonOf } from '../core/errors';
import { parseInput } from '../core/input';
import { logger } from '../core/logger';
import { mapLimit } from '../core/map-limit';

/*
 * Publishes the image: a new launch template version made from the version the group uses, with
 * only the image changed (a client token makes a retry return the same version); then, as the
 * stage asks, the default version, the group's version, the SSM parameter, the launch permissions
 * and the copies to other regions.
 */

const EventSchema = z.object({
  bake: BakeSchema,
  release: z.object({ imageId: z.string().min(1) }),
  config: ConfigSchema,
});

export interface Published {
  readonly imageId: string;
  readonly launchTemplateVersion: number;
  readonly regionCopies: Record<string, string>;
  /** Old launch template versions of the stage deleted (`versionsProblem` says why none could be). */
  readonly deletedVersions: number;
  readonly versionsProblem?: string;
}

export async function publish(event: unknown): Promise<Published> {
  const { bake, release, config } = parseInput(EventSchema, event, 'publish input');
  const imageId = release.imageId;
  const created = await ec2().send(new CreateLaunchTemplateVersionCommand({
    LaunchTemplateId: config.launchTemplateId,
    SourceVersion: String(bake.sourceVersion),
    LaunchTemplateData: { ImageId: imageId },
    VersionDescription: versionDescription(imageId, bake.pipelineExecutionId),
    ClientToken: clientToken(config.launchTemplateId, bake.pipelineExecutionId, imageId),
  }));
  const version = created.LaunchTemplateVersion!.VersionNumber!;
  logger.info('launch template version created', { launchTemplateId: config.launchTemplateId, version, imageId });

  if (config.publish.makeDefault) {
    await ec2().send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: config.launchTemplateId, DefaultVersion: String(version) }));
  }
  // A group on $Latest or $Default follows the template already; a pinned refresh updates it on success.
  const refreshUpdates = config.refresh?.pinVersion === true;
  if (config.publish.updateGroup && !refreshUpdates && /^\d+$/.test(bake.groupVersion)) {
    await updateGroupVersion(config, bake.mixedInstancesPolicy, version);
  }
  if (config.publish.parameterName) {
    await awsClient(SSMClient).send(new PutParameterCommand({
      Name: config.publish.parameterName, Value: imageId, Type: 'String', DataType: 'aws:ec2:image', Overwrite: true,
    }));
  }
  if (config.shareWithAccounts.length) {
    await ec2().send(new ModifyImageAttributeCommand({
      ImageId: imageId, LaunchPermission: { Add: config.shareWithAccounts.map(UserId => ({ UserId })) },
    }));
  }
  const regionCopies: Record<string, string> = {};
  await mapLimit(config.copy.regions, 3, async region => {
    regionCopies[region] = await copyToRegion(config, bake, imageId, region);
  });
  // Never fails a release: the next one tries again.
  let deletedVersions = 0;
  let versionsProblem: string | undefined;
  try {
    deletedVersions = await pruneVersions(config.launchTemplateId, version, bake.sourceVersion);
  } catch (err) {
    versionsProblem = reasonOf(err);
    logger.warn('old launch template versions could not be deleted', { launchTemplateId: config.launchTemplateId, error: versionsProblem });
  }
  return { imageId, launchTemplateVersion: version, regionCopies, deletedVersions, versionsProblem };
}

export async function updateGroupVersion(config: Config, mixed: boolean, version: number): Promise<void> {
  const spec = { LaunchTemplateId: config.launchTemplateId, Version: String(version) };
  await autoscaling().send(new UpdateAutoScalingGroupCommand(mixed
    ? { AutoScalingGroupName: config.groupName, MixedInstancesPolicy: { LaunchTemplate: { LaunchTemplateSpecification: spec } } }
    : { AutoScalingGroupName: config.groupName, LaunchTemplate: spec }));
  logger.info('group points at the new version', { groupName: config.groupName, version });
}

/** Copies the image to another region once (found by name on a retry); the copy is not waited on. */
async function copyToRegion(config: Config, bake: z.infer<typeof BakeSchema>, imageId: string, region: string): Promise<string> {
  const client = new EC2Client({ region, requestHandler: REQUEST_LIMITS });
  const name = `${bake.imageName}`;
  const existing = await findImageByName(name, client);
  if (existing) return existing;
  const out = await client.send(new CopyImageCommand({
    SourceImageId: imageId,
    SourceRegion: process.env.AWS_REGION,
    Name: name,
    TagSpecifications: [{ ResourceType: 'image', Tags: imageTags(config, bake) }, { ResourceType: 'snapshot', Tags: imageTags(config, bake) }],
  }));
  logger.info('copy to another region started', { region, imageId: out.ImageId });
  return out.ImageId!;
}
