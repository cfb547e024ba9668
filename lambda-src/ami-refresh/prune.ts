import { DescribeAutoScalingGroupsCommand, LaunchTemplateSpecification } from '@aws-sdk/client-auto-scaling';
import {
  DeleteSnapshotCommand, DeregisterImageCommand, DescribeImageAttributeCommand, DescribeImagesCommand, DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand, DescribeLaunchTemplateVersionsCommand, Image,
} from '@aws-sdk/client-ec2';
import { z } from 'zod/v3';
import { autoscaling, ec2 } from './clients';
import { Config, ConfigSchema } from './config';
import { reasonOf } from '../core/errors';
import { parseInput } from '../core/input';
import { logger } from '../core/logger';
import { mapLimit } from '../core/map-limit';
import { paginate } from '../core/paginate';

/*
 * Deregisters the older images this stage made for its group (found by the stage's tag) and
 * deletes their snapshots. An image still in use is kept: referenced by a launch template's default
 * or latest version or by a version a group or an override uses, used by an instance, or shared
 * (unless the stage allows it). Nothing here fails the release: problems go into the summary.
 */

const EventSchema = z.object({ published: z.object({ imageId: z.string() }), config: ConfigSchema });

export interface Pruned {
  readonly deregistered: string[];
  readonly kept: string[];
  readonly problems: string[];
}

export async function prune(event: unknown): Promise<Pruned> {
  const { published, config } = parseInput(EventSchema, event, 'prune input');
  const result: Pruned = { deregistered: [], kept: [], problems: [] };
  try {
    const candidates = selectOld(await ownImages(config), config, published.imageId);
    if (!candidates.length) return result;
    const inUse = await imagesInUse(candidates.map(i => i.ImageId!));
    await mapLimit(candidates, 3, async candidate => {
      const id = candidate.ImageId!;
      const reason = inUse.get(id) ?? (config.pruning!.includeShared ? undefined : await sharedWith(id));
      if (reason) {
        result.kept.push(`${id} (${reason})`);
        return;
      }
      try {
        await deregister(candidate);
        result.deregistered.push(id);
      } catch (err) {
        result.problems.push(`${id}: ${reasonOf(err)}`);
      }
    });
  } catch (err) {
    result.problems.push(reasonOf(err));
  }
  logger.info('pruned images', { ...result });
  return result;
}

async function ownImages(config: Config): Promise<Image[]> {
  const images: Image[] = [];
  const pages = paginate('DescribeImages', async token => {
    const page = await ec2().send(new DescribeImagesCommand({
      Owners: ['self'], Filters: [{ Name: `tag:${config.stageTag.key}`, Values: [config.stageTag.value] }], NextToken: token, MaxResults: 100,
    }));
    return { images: page.Images ?? [], token: page.NextToken };
  });
  for await (const page of pages) images.push(...page.images);
  return images;
}

/** The images to deregister: beyond the newest `keep`, or older than `maxAge`; never the release's own. */
function selectOld(images: Image[], config: Config, publishedId: string): Image[] {
  const pruning = config.pruning!;
  const newestFirst = images.filter(i => i.State === 'available' || i.State === 'failed')
    .sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''));
  const old = pruning.keep !== undefined
    ? newestFirst.slice(pruning.keep)
    : newestFirst.slice(1).filter(i => Date.now() - Date.parse(i.CreationDate ?? '') > pruning.maxAgeSeconds! * 1000);
  return old.filter(i => i.ImageId !== publishedId);
}

/** Why each of the images is still in use, by image id. */
async function imagesInUse(imageIds: string[]): Promise<Map<string, string>> {
  const inUse = new Map<string, string>();
  const wanted = new Set(imageIds);
  // Launch templates: default and latest versions, and the versions groups and overrides name.
  const versions = new Map<string, Set<string>>();
  const add = (templateId: string | undefined, version: string | undefined) => {
    if (!templateId) return;
    if (!versions.has(templateId)) versions.set(templateId, new Set(['$Default', '$Latest']));
    if (version) versions.get(templateId)!.add(version);
  };
  for await (const page of paginate('DescribeLaunchTemplates', async token => {
    const out = await ec2().send(new DescribeLaunchTemplatesCommand({ NextToken: token, MaxResults: 200 }));
    return { templates: out.LaunchTemplates ?? [], token: out.NextToken };
  })) page.templates.forEach(t => add(t.LaunchTemplateId, undefined));
  for await (const page of paginate('DescribeAutoScalingGroups', async token => {
    const out = await autoscaling().send(new DescribeAutoScalingGroupsCommand({ NextToken: token, MaxRecords: 100 }));
    return { groups: out.AutoScalingGroups ?? [], token: out.NextToken };
  })) {
    for (const group of page.groups) {
      const specs: Array<LaunchTemplateSpecification | undefined> = [
        group.LaunchTemplate, group.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification,
        ...(group.MixedInstancesPolicy?.LaunchTemplate?.Overrides ?? []).map(o => o.LaunchTemplateSpecification),
      ];
      specs.forEach(s => add(s?.LaunchTemplateId, s?.Version));
    }
  }
  await mapLimit([...versions.entries()], 5, async ([templateId, named]) => {
    const out = await ec2().send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: templateId, Versions: [...named] }));
    for (const v of out.LaunchTemplateVersions ?? []) {
      const imageId = v.LaunchTemplateData?.ImageId;
      if (imageId && wanted.has(imageId)) inUse.set(imageId, `launch template ${templateId} version ${v.VersionNumber} uses it`);
    }
  });
  const out = await ec2().send(new DescribeInstancesCommand({
    Filters: [{ Name: 'image-id', Values: imageIds }, { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }],
  }));
  for (const instance of (out.Reservations ?? []).flatMap(r => r.Instances ?? [])) {
    if (instance.ImageId && !inUse.has(instance.ImageId)) inUse.set(instance.ImageId, `instance ${instance.InstanceId} runs it`);
  }
  return inUse;
}

async function sharedWith(imageId: string): Promise<string | undefined> {
  const out = await ec2().send(new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission' }));
  const count = out.LaunchPermissions?.length ?? 0;
  return count ? `shared with ${count} account(s) or group(s)` : undefined;
}

/** Deregisters the image, then deletes its snapshots (a snapshot already gone is fine). */
async function deregister(image: Image): Promise<void> {
  await ec2().send(new DeregisterImageCommand({ ImageId: image.ImageId }));
  const snapshots = (image.BlockDeviceMappings ?? []).flatMap(m => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []));
  for (const snapshotId of snapshots) {
    try {
      await ec2().send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
    } catch (err) {
      if ((err as Error).name !== 'InvalidSnapshot.NotFound') throw err;
    }
  }
}
