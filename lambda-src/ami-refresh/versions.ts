import { DescribeAutoScalingGroupsCommand, LaunchTemplateSpecification } from '@aws-sdk/client-auto-scaling';
import { DeleteLaunchTemplateVersionsCommand, DescribeLaunchTemplateVersionsCommand, LaunchTemplateVersion } from '@aws-sdk/client-ec2';
import { autoscaling, ec2 } from './clients';
import { DELETE_LAUNCH_TEMPLATE_VERSIONS_PER_CALL, LAUNCH_TEMPLATE_MAX_VERSIONS } from '../../src/core/private/quotas';
import { logger } from '../core/logger';
import { paginate } from '../core/paginate';

/*
 * A launch template holds at most LAUNCH_TEMPLATE_MAX_VERSIONS versions, and the stage adds one per
 * release: after publishing, it deletes the older versions it made itself (known by the description
 * it gives them), keeping the newest KEEP_VERSIONS and every version still in use: the default, the
 * one just published and the one it was made from, and any a group or an override of this template
 * names.
 */

/** The stage's own versions kept however old, newest first: room to roll back by hand. */
export const KEEP_VERSIONS = 20;

/** What `publish` writes as a version's description. */
export function versionDescription(imageId: string, pipelineExecutionId: string): string {
  return `${imageId} from pipeline execution ${pipelineExecutionId}`.slice(0, 255);
}
const OWN_DESCRIPTION = /^ami-[0-9a-f]+ from pipeline execution \S+$/;

/** Deletes the template's old versions the stage made; returns how many were deleted. */
export async function pruneVersions(launchTemplateId: string, published: number, source: number): Promise<number> {
  // Version numbers only grow: a template whose newest is small has nothing to prune.
  if (published <= KEEP_VERSIONS + 1) return 0;
  const versions: LaunchTemplateVersion[] = [];
  for await (const page of paginate('DescribeLaunchTemplateVersions', async token => {
    const out = await ec2().send(new DescribeLaunchTemplateVersionsCommand({
      LaunchTemplateId: launchTemplateId, NextToken: token, MaxResults: 200,
    }));
    return { versions: out.LaunchTemplateVersions ?? [], token: out.NextToken };
  })) versions.push(...page.versions);
  const templateName = versions[0]?.LaunchTemplateName;
  const inUse = new Set([published, source, ...await versionsNamedByGroups(launchTemplateId, templateName)]);
  const stale = versions
    .filter(v => OWN_DESCRIPTION.test(v.VersionDescription ?? '') && !v.DefaultVersion && !inUse.has(v.VersionNumber!))
    .map(v => v.VersionNumber!)
    .sort((a, b) => b - a)
    .slice(KEEP_VERSIONS);
  let deleted = 0;
  for (let i = 0; i < stale.length; i += DELETE_LAUNCH_TEMPLATE_VERSIONS_PER_CALL) {
    const out = await ec2().send(new DeleteLaunchTemplateVersionsCommand({
      LaunchTemplateId: launchTemplateId, Versions: stale.slice(i, i + DELETE_LAUNCH_TEMPLATE_VERSIONS_PER_CALL).map(String),
    }));
    deleted += out.SuccessfullyDeletedLaunchTemplateVersions?.length ?? 0;
    for (const failed of out.UnsuccessfullyDeletedLaunchTemplateVersions ?? []) {
      logger.warn('a launch template version was not deleted', { launchTemplateId, version: failed.VersionNumber, error: failed.ResponseError?.Message });
    }
  }
  logger.info('old launch template versions deleted', { launchTemplateId, deleted });
  const left = versions.length - deleted;
  if (left > LAUNCH_TEMPLATE_MAX_VERSIONS - 10 * KEEP_VERSIONS) {
    logger.warn('the launch template is close to its version limit with versions the stage may not delete', { launchTemplateId, versions: left, limit: LAUNCH_TEMPLATE_MAX_VERSIONS });
  }
  return deleted;
}

/** The version numbers that groups and their overrides name for this template (`$Latest`/`$Default` are kept anyway). */
async function versionsNamedByGroups(launchTemplateId: string, templateName: string | undefined): Promise<number[]> {
  const named: number[] = [];
  const ours = (s?: LaunchTemplateSpecification) => s
    && (s.LaunchTemplateId === launchTemplateId || (templateName !== undefined && s.LaunchTemplateName === templateName));
  for await (const page of paginate('DescribeAutoScalingGroups', async token => {
    const out = await autoscaling().send(new DescribeAutoScalingGroupsCommand({ NextToken: token, MaxRecords: 100 }));
    return { groups: out.AutoScalingGroups ?? [], token: out.NextToken };
  })) {
    for (const group of page.groups) {
      const specs = [group.LaunchTemplate, group.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification,
        ...(group.MixedInstancesPolicy?.LaunchTemplate?.Overrides ?? []).map(o => o.LaunchTemplateSpecification)];
      for (const spec of specs) if (ours(spec) && /^\d+$/.test(spec!.Version ?? '')) named.push(Number(spec!.Version));
    }
  }
  return named;
}
