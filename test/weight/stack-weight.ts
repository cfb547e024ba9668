import { App, CfnResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { IConstruct } from 'constructs';
import {
  AmiRefreshStage, AnsibleDeployStage, AnsibleInventory, AnsibleTransport, BranchBuildFanoutProps, ImagePruning, KnownHosts, SlackNotifyStage,
  SlackWebhook, SshPrivateKey, VmCommand, VmCommandStage, VmTargets,
} from '../../src';
import { fanoutWith } from '../branch-build-fanout/fixtures';
import { pipelineStack } from '../vm-command/fixtures';

/*
 * The resources stages add to a stack: what a user's stack holds against CloudFormation's limit of
 * 500. A stage owns the resources under its own path and, for the first stage of its kind in the
 * stack, those of the functions it shares with later ones. The pipeline's own resources (including
 * the role aws-cdk-lib gives each action) are the pipeline's.
 */

/** Resources in the stack whose construct path lies under one of the scopes. */
export function resourcesUnder(stack: Stack, scopes: IConstruct[]): number {
  const prefixes = scopes.map(s => `${s.node.path}/`);
  return stack.node.findAll().filter(c => CfnResource.isCfnResource(c) && prefixes.some(p => c.node.path.startsWith(p))).length;
}

export function countResources(stack: Stack): number {
  return stack.node.findAll().filter(c => CfnResource.isCfnResource(c)).length;
}

/** A pipeline stack with `vmStages` VM stages (the props of the README's quick start) and, optionally, a Slack stage. */
export function weightStack(vmStages: number, withSlack = false, app = new App()) {
  const { stack, pipeline, source } = pipelineStack(app);
  const stages = Array.from({ length: vmStages }, (_, i) => {
    const stage = new VmCommandStage(stack, `Vm${i + 1}`, {
      targets: VmTargets.instanceIds(['i-0123456789abcdef0', 'mi-0123456789abcdef0']),
      command: VmCommand.shell(['./run-tests.sh']),
      variableParameters: { commitId: '#{Source.ETag}' },
    });
    stage.addToPipeline(pipeline, { input: source });
    return stage;
  });
  if (withSlack) {
    const secret = new secretsmanager.Secret(stack, 'SlackWebhook');
    Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'A Slack webhook is replaced by hand in Slack, not rotated.' });
    new SlackNotifyStage(stack, 'Notify', { channels: [{ name: 'team', webhook: SlackWebhook.fromSecret(secret) }] })
      .addToPipeline(pipeline);
  }
  const shared = stack.node.tryFindChild('VmCommandStageShared');
  return { app, stack, pipeline, stages, shared };
}

/** The figures the weight budget holds: the first VM stage with its shared functions, each further one, and a whole stack. */
export function weightFigures() {
  const one = weightStack(1);
  const two = weightStack(2);
  const twenty = weightStack(20, true);
  return {
    firstStage: resourcesUnder(one.stack, [one.stages[0], one.shared!]),
    furtherStage: resourcesUnder(two.stack, [two.stages[1]]),
    twentyStagesWithPipelineAndSlack: countResources(twenty.stack),
  };
}

/** A pipeline stack with `count` AmiRefreshStages (one per group, with a refresh and pruning, as in the README). */
export function amiWeightStack(count: number, app = new App()) {
  const { stack, pipeline } = pipelineStack(app);
  const stages = Array.from({ length: count }, (_, i) => {
    const stage = new AmiRefreshStage(stack, `Ami${i + 1}`, {
      autoScalingGroup: autoscaling.AutoScalingGroup.fromAutoScalingGroupName(stack, `Group${i + 1}`, `web-${i + 1}`),
      launchTemplate: ec2.LaunchTemplate.fromLaunchTemplateAttributes(stack, `Template${i + 1}`, { launchTemplateId: `lt-0123456789abcdef${i}` }),
      instanceRefresh: { minHealthyPercentage: 90 },
      pruning: ImagePruning.keepNewest(5),
    });
    stage.addToPipeline(pipeline);
    return stage;
  });
  return { app, stack, pipeline, stages, shared: stack.node.tryFindChild('AmiRefreshStageShared') };
}

/** The AmiRefreshStage figures: the first stage with its shared functions, and each further one. */
export function amiWeightFigures() {
  const one = amiWeightStack(1);
  const two = amiWeightStack(2);
  return {
    firstStage: resourcesUnder(one.stack, [one.stages[0], one.shared!]),
    furtherStage: resourcesUnder(two.stack, [two.stages[1]]),
  };
}

/** The resources a BranchBuildFanout adds (it shares nothing: each has its queues, functions and ledger). */
export function fanoutFigures() {
  const count = (props: Partial<BranchBuildFanoutProps>) => {
    const { fanout, stack } = fanoutWith(props);
    return resourcesUnder(stack, [fanout]);
  };
  return { fanout: count({}), fanoutWithSweep: count({ sweepInterval: Duration.hours(1) }) };
}

/** A pipeline stack with `count` AnsibleDeployStages (SSH, tag inventory, preview), or SSM ones with their transfer bucket. */
export function ansibleWeightStack(count: number, transport: 'ssh' | 'ssm' = 'ssh') {
  const { stack, pipeline, source } = pipelineStack(new App());
  const stages = Array.from({ length: count }, (_, i) => {
    const stage = new AnsibleDeployStage(stack, `Ansible${i + 1}`, {
      playbook: 'site.yml',
      inventory: AnsibleInventory.ec2Tags({ tagFilters: { Role: ['web'] } }),
      transport: transport === 'ssh'
        ? AnsibleTransport.ssh({ privateKey: SshPrivateKey.fromSsmSecureString('/ansible/key'), knownHosts: KnownHosts.fromSsmParameter('/ansible/known-hosts'), user: 'ec2-user' })
        : AnsibleTransport.ssm(),
      preview: true,
    });
    stage.addToPipeline(pipeline, { input: source });
    return stage;
  });
  const shared = stack.node.tryFindChild('AnsibleDeployStageLocks');
  return { stack, stages, shared };
}

/** The Ansible stage's weight: the first (with the stack's lock table) and each further one, per transport. */
export function ansibleWeightFigures() {
  const figures = (transport: 'ssh' | 'ssm') => {
    const one = ansibleWeightStack(1, transport);
    const two = ansibleWeightStack(2, transport);
    return { firstStage: resourcesUnder(one.stack, [one.stages[0], one.shared!]), furtherStage: resourcesUnder(two.stack, [two.stages[1]]) };
  };
  return { ssh: figures('ssh'), ssm: figures('ssm') };
}

/** What a construct adds to its stack: resources, template KiB (its resources' JSON), Lambda functions and assets. */
export interface ConstructWeight {
  readonly resources: number;
  readonly templateKiB: number;
  readonly functions: number;
  readonly assets: number;
}

/** The weight of the constructs under the scopes. */
export function weightUnder(stack: Stack, scopes: IConstruct[]): ConstructWeight {
  const prefixes = scopes.map(s => `${s.node.path}/`);
  const under = stack.node.findAll().filter(c => prefixes.some(p => c.node.path.startsWith(p)));
  const resources = under.filter(CfnResource.isCfnResource);
  const elsewhere = assetHashes(stack.node.findAll().filter(c => !under.includes(c)));
  const template = stack.resolve(resources.map(r => (r as any)._toCloudFormation()));
  return {
    resources: resources.length,
    templateKiB: JSON.stringify(template).length / 1024,
    functions: resources.filter(r => r.cfnResourceType === 'AWS::Lambda::Function').length,
    // Assets the rest of the stack does not hold already (the same file is uploaded once).
    assets: new Set(assetHashes(under).filter(h => !elsewhere.includes(h))).size,
  };
}

function assetHashes(constructs: IConstruct[]): string[] {
  return constructs.filter((c): c is s3assets.Asset => c instanceof s3assets.Asset).map(a => a.assetHash);
}

/** Each construct's first instance (with what it shares per stack) and each further one. */
export function constructWeights(): Array<{ construct: string; first: ConstructWeight; further?: ConstructWeight }> {
  const vm1 = weightStack(1);
  const vm2 = weightStack(2);
  const ami1 = amiWeightStack(1);
  const ami2 = amiWeightStack(2);
  const ansible = (transport: 'ssh' | 'ssm') => {
    const one = ansibleWeightStack(1, transport);
    const two = ansibleWeightStack(2, transport);
    return { first: weightUnder(one.stack, [one.stages[0], one.shared!]), further: weightUnder(two.stack, [two.stages[1]]) };
  };
  const slack = weightStack(0, true);
  const fanout = (props: Partial<BranchBuildFanoutProps>) => {
    const { fanout: f, stack } = fanoutWith(props);
    return weightUnder(stack, [f]);
  };
  return [
    { construct: 'VmCommandStage', first: weightUnder(vm1.stack, [vm1.stages[0], vm1.shared!]), further: weightUnder(vm2.stack, [vm2.stages[1]]) },
    { construct: 'AmiRefreshStage', first: weightUnder(ami1.stack, [ami1.stages[0], ami1.shared!]), further: weightUnder(ami2.stack, [ami2.stages[1]]) },
    { construct: 'AnsibleDeployStage (SSH)', ...ansible('ssh') },
    { construct: 'AnsibleDeployStage (SSM)', ...ansible('ssm') },
    { construct: 'SlackNotifyStage', first: weightUnder(slack.stack, [slack.stack.node.findChild('Notify')]) },
    { construct: 'BranchBuildFanout', first: fanout({}) },
    { construct: 'BranchBuildFanout with the sweep', first: fanout({ sweepInterval: Duration.hours(1) }) },
  ];
}
