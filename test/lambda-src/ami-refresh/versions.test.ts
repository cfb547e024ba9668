import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  DeleteLaunchTemplateVersionsCommand, DescribeLaunchTemplateVersionsCommand, EC2Client, LaunchTemplateVersion,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { KEEP_VERSIONS, pruneVersions, versionDescription } from '../../../lambda-src/ami-refresh/versions';
import { DELETE_LAUNCH_TEMPLATE_VERSIONS_PER_CALL, LAUNCH_TEMPLATE_MAX_VERSIONS } from '../../../src/core/private/quotas';

/*
 * The stage's old launch template versions are deleted after each release, in-process (moto keeps
 * no default-version rule and the emulator runs would need thousands of releases).
 * EC2 user guide, launch template quotas: 10,000 versions per template. EC2 API reference,
 * DeleteLaunchTemplateVersions: up to 200 versions per call; the default version cannot be deleted.
 */

const ec2 = mockClient(EC2Client);
const autoscaling = mockClient(AutoScalingClient);
const TEMPLATE = 'lt-web';

/** Versions 1..count: the stage's own (its description) unless `foreign` says otherwise. */
function versions(count: number, options: { defaultVersion?: number; foreign?: number[] } = {}): LaunchTemplateVersion[] {
  return Array.from({ length: count }, (_, i) => i + 1).map(n => ({
    LaunchTemplateId: TEMPLATE,
    LaunchTemplateName: 'web',
    VersionNumber: n,
    DefaultVersion: n === (options.defaultVersion ?? 1),
    VersionDescription: options.foreign?.includes(n) ? 'made by hand' : versionDescription(`ami-${n.toString(16).padStart(8, '0')}`, '8c7b-execution'),
  }));
}

/** DescribeLaunchTemplateVersions in pages of 200, as EC2 answers it. */
function listing(all: LaunchTemplateVersion[]) {
  ec2.on(DescribeLaunchTemplateVersionsCommand).callsFake(input => {
    const start = Number(input.NextToken ?? 0);
    const end = start + input.MaxResults;
    return { LaunchTemplateVersions: all.slice(start, end), NextToken: end < all.length ? String(end) : undefined };
  });
  ec2.on(DeleteLaunchTemplateVersionsCommand).callsFake(input => ({
    SuccessfullyDeletedLaunchTemplateVersions: input.Versions.map((v: string) => ({ LaunchTemplateId: TEMPLATE, VersionNumber: Number(v) })),
  }));
}

function deletedVersions(): number[] {
  return ec2.commandCalls(DeleteLaunchTemplateVersionsCommand).flatMap(c => c.args[0].input.Versions!.map(Number)).sort((a, b) => a - b);
}

beforeEach(() => {
  ec2.reset();
  autoscaling.reset();
  autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
});

test('a template with few versions is not listed at all', async () => {
  expect(await pruneVersions(TEMPLATE, KEEP_VERSIONS + 1, KEEP_VERSIONS)).toBe(0);
  expect(ec2.calls()).toHaveLength(0);
});

test('keeps the newest own versions, the default, the source, those groups and overrides name, and versions made by others', async () => {
  listing(versions(40, { defaultVersion: 3, foreign: [4] }));
  autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      { AutoScalingGroupName: 'web', LaunchTemplate: { LaunchTemplateId: TEMPLATE, Version: '5' } } as any,
      {
        AutoScalingGroupName: 'mixed',
        MixedInstancesPolicy: { LaunchTemplate: { LaunchTemplateSpecification: { LaunchTemplateName: 'web', Version: '$Latest' }, Overrides: [{ LaunchTemplateSpecification: { LaunchTemplateName: 'web', Version: '7' } }] } },
      } as any,
      { AutoScalingGroupName: 'other', LaunchTemplate: { LaunchTemplateId: 'lt-other', Version: '2' } } as any,
    ],
  });
  const deleted = await pruneVersions(TEMPLATE, 40, 9);
  // Own versions other than 3 (default), 4 (by hand), 5 and 7 (named), 9 (source) and 40 (published): 34, newest 20 kept.
  const expected = [1, 2, 6, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
  expect(deletedVersions()).toEqual(expected);
  expect(deleted).toBe(expected.length);
});

test(`a template at its limit of ${LAUNCH_TEMPLATE_MAX_VERSIONS} versions: ${DELETE_LAUNCH_TEMPLATE_VERSIONS_PER_CALL} per call, back to the kept few`, async () => {
  listing(versions(LAUNCH_TEMPLATE_MAX_VERSIONS));
  const deleted = await pruneVersions(TEMPLATE, LAUNCH_TEMPLATE_MAX_VERSIONS, LAUNCH_TEMPLATE_MAX_VERSIONS - 1);
  const calls = ec2.commandCalls(DeleteLaunchTemplateVersionsCommand);
  expect(calls.every(c => c.args[0].input.Versions!.length <= DELETE_LAUNCH_TEMPLATE_VERSIONS_PER_CALL)).toBe(true);
  // Left: the default (1), the published and source versions, and the 20 newest others.
  expect(LAUNCH_TEMPLATE_MAX_VERSIONS - deleted).toBe(KEEP_VERSIONS + 3);
  expect(deletedVersions()).not.toContain(1);
});
