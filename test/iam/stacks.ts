/*
 * The templates the construction checks (test/iam, test/asl, test/events) run on: every construct
 * as the weight stacks build it (test/weight/stack-weight.ts), the options that add grants of their
 * own, and the example app (examples/app.ts).
 */
import { App, Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AmiRefreshStage, VmCommand, VmCommandStage, VmTargets } from '../../src';
import { fanoutWith } from '../branch-build-fanout/fixtures';
import { pipelineStack } from '../vm-command/fixtures';
import { ansibleWeightStack, amiWeightStack, weightStack } from '../weight/stack-weight';

export interface CheckedTemplate {
  /** Which stack it is, as the findings name it. */
  readonly name: string;
  readonly template: any;
}

/** The weight stacks' templates: two of each stage (the first shares what later ones reuse), every transport, Slack and the fanout with its sweep. */
export function weightTemplates(): CheckedTemplate[] {
  return [
    { name: 'weight:vm+slack', template: Template.fromStack(weightStack(2, true).stack).toJSON() },
    { name: 'weight:ami', template: Template.fromStack(amiWeightStack(2).stack).toJSON() },
    { name: 'weight:ansible-ssh', template: Template.fromStack(ansibleWeightStack(2, 'ssh').stack).toJSON() },
    { name: 'weight:ansible-ssm', template: Template.fromStack(ansibleWeightStack(2, 'ssm').stack).toJSON() },
    { name: 'weight:fanout', template: Template.fromStack(fanoutWith({ sweepInterval: Duration.hours(1) }).stack).toJSON() },
  ];
}

/**
 * The options that add grants the weight stacks and the example do not make: a VM stage writing its
 * output to a bucket, an AMI stage that passes its instance role, encrypts a copy with a key, copies
 * to another region and shares with another account.
 */
export function optionTemplates(): CheckedTemplate[] {
  const { stack, pipeline } = pipelineStack(new App());
  const outputBucket = new s3.Bucket(stack, 'Output', { enforceSSL: true, blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL });
  new VmCommandStage(stack, 'VmOutput', {
    targets: VmTargets.tags({ Role: ['web'] }),
    command: VmCommand.shell(['./run-tests.sh']),
    outputBucket,
  }).addToPipeline(pipeline);
  new AmiRefreshStage(stack, 'AmiCopies', {
    autoScalingGroup: autoscaling.AutoScalingGroup.fromAutoScalingGroupName(stack, 'Group', 'web'),
    launchTemplate: ec2.LaunchTemplate.fromLaunchTemplateAttributes(stack, 'Template', { launchTemplateId: 'lt-0123456789abcdef0' }),
    instanceRole: new iam.Role(stack, 'InstanceRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') }),
    imageCopy: { kmsKey: new kms.Key(stack, 'CopyKey', { enableKeyRotation: true }), regions: ['us-west-2'] },
    shareWithAccounts: ['222222222222'],
  }).addToPipeline(pipeline);
  return [{ name: 'options:vm-output+ami-copies', template: Template.fromStack(stack).toJSON() }];
}

/**
 * The example app's templates, synthesized in-process as `npx projen example` does (cdk-nag on),
 * but into a temporary directory: the app's own outdir (examples/cdk.out) belongs to that task, and
 * several test files synthesize at once. The app imports the library by name, which jest resolves here.
 */
export function exampleTemplates(): CheckedTemplate[] {
  let templates: CheckedTemplate[] = [];
  jest.isolateModules(() => {
    jest.doMock('cdk-pipeline-stages', () => jest.requireActual('../../src'), { virtual: true });
    jest.doMock('aws-cdk-lib', () => {
      const cdk = jest.requireActual('aws-cdk-lib');
      class AppInTemporaryDir extends cdk.App {
        constructor(props: any = {}) { super({ ...props, outdir: undefined }); }
      }
      return new Proxy(cdk, { get: (target, key) => (key === 'App' ? AppInTemporaryDir : target[key]) });
    });
    jest.doMock('../../examples/summary', () => ({
      printSynthSummary: (assembly: any) => {
        templates = assembly.stacks.map((s: any) => ({ name: `example:${s.stackName}`, template: s.template }));
      },
    }));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('../../examples/app');
  });
  if (templates.length === 0) throw new Error('the example app synthesized no stack');
  return templates;
}

/** Every template the construction checks cover. */
export function checkedTemplates(): CheckedTemplate[] {
  return [...weightTemplates(), ...optionTemplates(), ...exampleTemplates()];
}
