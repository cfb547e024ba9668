import { DescribeInstancesCommand, EC2Client, Filter } from '@aws-sdk/client-ec2';
import { ListGroupResourcesCommand, ResourceGroupsClient } from '@aws-sdk/client-resource-groups';
import {
  DescribeInstanceInformationCommand, InstanceInformation, InstanceInformationStringFilter, SSMClient,
} from '@aws-sdk/client-ssm';
import { z } from 'zod/v3';
import { describeTargets, MAX_INSTANCE_IDS, Targets, TargetsSchema } from './targets';
import { awsClient } from '../core/aws-clients';
import { parseInput } from '../core/input';
import { logger } from '../core/logger';
import { paginate } from '../core/paginate';
import { bytesOf } from '../core/payload';

/*
 * The run's first step: resolves the run's targets to instance ids and checks that SSM can reach
 * every one of them (PingStatus Online) before anything is sent. For tag targets, SSM only lists
 * the nodes it manages, so the running EC2 instances carrying the tags are listed too: one without
 * the SSM agent would otherwise be silently left out of the run.
 */

export class NoTargetsMatched extends Error {
  public override readonly name = 'NoTargetsMatched';
}
export class InstanceNotReachable extends Error {
  public override readonly name = 'InstanceNotReachable';
}
export class TooManyTargets extends Error {
  public override readonly name = 'TooManyTargets';
}

/**
 * The resolved instance ids' share of the run's state (Step Functions bounds it to 256 KiB; the
 * input, the outcome and an error's cause take the rest): about 3,700 instances.
 */
export const INSTANCE_IDS_MAX_BYTES = 80 * 1024;

/** The stage's targets, and those the parameters file chose (they win). */
const EventSchema = z.object({ targets: TargetsSchema, fileTargets: TargetsSchema.nullish() });

const ssm = () => awsClient(SSMClient);
const ec2 = () => awsClient(EC2Client);
const groups = () => awsClient(ResourceGroupsClient);

export async function preflight(event: unknown): Promise<{ instanceIds: string[]; targets: Targets }> {
  const input = parseInput(EventSchema, event, 'pre-flight input');
  const targets = input.fileTargets ?? input.targets;
  const { instanceIds, known } = await resolve(targets);
  if (instanceIds.length === 0) throw new NoTargetsMatched(`no instances matched ${describeTargets(targets)}`);
  if (bytesOf(instanceIds) > INSTANCE_IDS_MAX_BYTES) {
    throw new TooManyTargets(`${instanceIds.length} instances matched ${describeTargets(targets)}: a run keeps its targets' ids in its state, `
      + `which Step Functions bounds to 256 KiB, so at most ${INSTANCE_IDS_MAX_BYTES / 1024} KiB of ids (about 3,700 instances); split the targets over several stages`);
  }
  const problems = instanceIds.flatMap(id => {
    const info = known.get(id);
    if (!info) return [`instance ${id} is not managed by SSM`];
    if (info.PingStatus !== 'Online') return [`instance ${id} is not reachable by SSM (PingStatus: ${info.PingStatus})`];
    return [];
  });
  if (problems.length) throw new InstanceNotReachable(problems.join('; '));
  logger.info('targets are online', { instanceIds });
  return { instanceIds, targets };
}

async function resolve(targets: Targets): Promise<{ instanceIds: string[]; known: Map<string, InstanceInformation> }> {
  if (targets.tags) {
    const known = await describeInstances(tagFilters(targets.tags));
    const running = await runningEc2Instances(targets.tags);
    return { instanceIds: [...new Set([...known.keys(), ...running])], known };
  }
  const instanceIds = targets.instanceIds ?? await groupInstances(targets.resourceGroup!);
  return { instanceIds, known: instanceIds.length ? await describeInstances(undefined, instanceIds) : new Map() };
}

function tagFilters(tags: Record<string, string[]>): InstanceInformationStringFilter[] {
  return Object.entries(tags).map(([key, values]) => ({ Key: `tag:${key}`, Values: values }));
}

/** SSM's view of managed instances, by tag filters or by id (in chunks of 50). */
async function describeInstances(filters?: InstanceInformationStringFilter[], ids?: string[]): Promise<Map<string, InstanceInformation>> {
  const found = new Map<string, InstanceInformation>();
  const queries = ids
    ? chunks(ids, MAX_INSTANCE_IDS).map(chunk => [{ Key: 'InstanceIds', Values: chunk }])
    : [filters!];
  for (const query of queries) {
    const pages = paginate('DescribeInstanceInformation', async token => {
      const page = await ssm().send(new DescribeInstanceInformationCommand({ Filters: query, NextToken: token, MaxResults: 50 }));
      return { instances: page.InstanceInformationList ?? [], token: page.NextToken };
    });
    for await (const page of pages) {
      for (const info of page.instances) if (info.InstanceId) found.set(info.InstanceId, info);
    }
  }
  return found;
}

/** The running EC2 instances carrying the tags (hybrid `mi-` nodes have no EC2 record). */
async function runningEc2Instances(tags: Record<string, string[]>): Promise<string[]> {
  const filters: Filter[] = [
    ...Object.entries(tags).map(([key, values]) => ({ Name: `tag:${key}`, Values: values })),
    { Name: 'instance-state-name', Values: ['running'] },
  ];
  const ids: string[] = [];
  const pages = paginate('DescribeInstances', async token => {
    const page = await ec2().send(new DescribeInstancesCommand({ Filters: filters, NextToken: token, MaxResults: 1000 }));
    return { reservations: page.Reservations ?? [], token: page.NextToken };
  });
  for await (const page of pages) {
    for (const reservation of page.reservations) {
      for (const instance of reservation.Instances ?? []) if (instance.InstanceId) ids.push(instance.InstanceId);
    }
  }
  return ids;
}

async function groupInstances(group: string): Promise<string[]> {
  const ids: string[] = [];
  const pages = paginate('ListGroupResources', async token => {
    const page = await groups().send(new ListGroupResourcesCommand({
      Group: group,
      Filters: [{ Name: 'resource-type', Values: ['AWS::EC2::Instance', 'AWS::SSM::ManagedInstance'] }],
      NextToken: token,
    }));
    return { resources: page.Resources ?? [], token: page.NextToken };
  });
  for await (const page of pages) {
    for (const item of page.resources) {
      const arn = item.Identifier?.ResourceArn;
      const id = arn?.slice(arn.lastIndexOf('/') + 1);
      if (id) ids.push(id);
    }
  }
  return ids;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
