import {
  AutoScalingClient, CreateAutoScalingGroupCommand, DescribeAutoScalingGroupsCommand, EnterStandbyCommand, SetInstanceHealthCommand,
} from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand, EC2Client } from '@aws-sdk/client-ec2';
import { App, CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AmiRefreshStage, AmiRefreshStageProps } from '../../src';
import { Emulator, ExecutionResult, handlerAsset, RecordedCall } from '../emulator/harness';
import { createRunTable, pipelineJobEvent } from '../vm-command/emulator-run';
import { pipelineStack } from '../vm-command/fixtures';

/*
 * An AmiRefreshStage run on the emulator: the stage's state machine (read from the synthesized
 * template) and its bundled handlers, on moto. What moto lacks or fakes, and how it is handled:
 * - CreateLaunchTemplateVersion ignores SourceVersion and ClientToken: the harness's launcher
 *   (test/emulator/moto-launcher.py) makes moto honour both, so the new version's contents are
 *   moto's own answer;
 * - images are `available` at once: DescribeImages is scripted where a test needs `pending` or `failed`;
 * - Auto Scaling has no instance refreshes: StartInstanceRefresh, DescribeInstanceRefreshes,
 *   CancelInstanceRefresh and RollbackInstanceRefresh are scripted;
 * - no CodePipeline job APIs: PutJobSuccessResult/PutJobFailureResult are scripted and recorded;
 * - EventBridge cannot invoke Lambda: the tests hand image, refresh, execution and pipeline events
 *   to the event function as EventBridge would.
 */

export const GROUP = 'web';
export const RUN = handlerAsset('ami-refresh', 'run');
export const EVENT = handlerAsset('ami-refresh', 'event');
export const STAGE_TAG_KEY = 'cdk-pipeline-stages:ami-refresh-stage';
const BASE_IMAGE = 'ami-12c6146b';
export const USER_DATA = Buffer.from('#!/bin/bash\necho hello\n').toString('base64');

/** A launch template with settings a new version must keep, and a group of `size` on its version 1. */
export async function createGroup(emulator: Emulator, size = 3, groupVersion = '1', mixed = false) {
  const ec2Client = emulator.client(EC2Client);
  const template = await ec2Client.send(new CreateLaunchTemplateCommand({
    LaunchTemplateName: 'web-template',
    LaunchTemplateData: {
      ImageId: BASE_IMAGE,
      InstanceType: 't3.micro',
      UserData: USER_DATA,
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 20, VolumeType: 'gp3' } }],
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2 },
    },
  }));
  const launchTemplateId = template.LaunchTemplate!.LaunchTemplateId!;
  const asg = emulator.client(AutoScalingClient);
  const spec = { LaunchTemplateId: launchTemplateId, Version: groupVersion };
  await asg.send(new CreateAutoScalingGroupCommand({
    AutoScalingGroupName: GROUP,
    ...(mixed
      ? { MixedInstancesPolicy: { LaunchTemplate: { LaunchTemplateSpecification: spec, Overrides: [{ InstanceType: 't3.small' }] } } }
      : { LaunchTemplate: spec }),
    MinSize: 1,
    MaxSize: 5,
    DesiredCapacity: size,
    AvailabilityZones: ['us-east-1a'],
  }));
  return { launchTemplateId, instanceIds: await groupInstances(emulator) };
}

/** The group's instances, sorted, with their lifecycle state. */
export async function groupInstances(emulator: Emulator): Promise<string[]> {
  const out = await emulator.client(AutoScalingClient).send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [GROUP] }));
  return (out.AutoScalingGroups![0].Instances ?? []).map(i => i.InstanceId!).sort();
}

export async function lifecycleStates(emulator: Emulator): Promise<Record<string, string>> {
  const out = await emulator.client(AutoScalingClient).send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [GROUP] }));
  return Object.fromEntries((out.AutoScalingGroups![0].Instances ?? []).map(i => [i.InstanceId!, `${i.LifecycleState}/${i.HealthStatus}`]));
}

export async function makeUnhealthy(emulator: Emulator, instanceId: string) {
  await emulator.client(AutoScalingClient).send(new SetInstanceHealthCommand({ InstanceId: instanceId, HealthStatus: 'Unhealthy' }));
}

export async function putInStandby(emulator: Emulator, instanceId: string) {
  await emulator.client(AutoScalingClient).send(new EnterStandbyCommand({
    AutoScalingGroupName: GROUP, InstanceIds: [instanceId], ShouldDecrementDesiredCapacity: false,
  }));
}

/** Props for the stage under test: given, or made in its stack (for props that need a scope, such as a key). */
export type TestProps = Partial<AmiRefreshStageProps> | ((stack: Stack) => Partial<AmiRefreshStageProps>);

export function synth(launchTemplateId: string, testProps: TestProps = {}) {
  const { stack, pipeline, source } = pipelineStack(new App());
  const props = typeof testProps === 'function' ? testProps(stack) : testProps;
  const stage = new AmiRefreshStage(stack, 'Ami', {
    autoScalingGroup: autoscaling.AutoScalingGroup.fromAutoScalingGroupName(stack, 'Group', GROUP),
    launchTemplate: ec2.LaunchTemplate.fromLaunchTemplateAttributes(stack, 'Template', { launchTemplateId }),
    backstopInterval: Duration.seconds(1),
    // A 1-second backstop over the default limit (the image wait and 15 minutes) would pass the history limit.
    timeout: Duration.minutes(20),
    commitId: '#{Source.CommitId}',
    ...props,
  });
  stage.addToPipeline(pipeline, { input: source });
  const template = Template.fromStack(stack);
  const id = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as CfnElement);
  const table = stack.node.findChild('AmiRefreshStageShared').node.findChild('RunTable') as CfnElement & { node: any };
  const [userParameters] = Object.values(template.findResources('AWS::CodePipeline::Pipeline'))
    .map((p: any) => p.Properties.Stages.find((st: any) => st.Name === 'Ami').Actions[0].Configuration.UserParameters);
  return { template, stateMachineId: id(stage.stateMachine), tableName: id(table), userParameters, stage };
}

export type Synthesized = ReturnType<typeof synth> & { stateMachineArn: string };

export function statesEntered(result: ExecutionResult): string[] {
  return result.history.flatMap(e => (e.stateEnteredEventDetails ? [e.stateEnteredEventDetails.name!] : []));
}

/** What the state machine's invocations of the run function asked for (their `step`). */
export function stepsInvoked(calls: RecordedCall[]): string[] {
  return calls.filter(c => c.service === 'lambda' && c.operation === 'Invoke' && String(c.input.FunctionName).includes('RunFunction'))
    .map(c => c.input.Payload.step).filter(Boolean);
}

/** A refresh as DescribeInstanceRefreshes answers it (XML keys in the API's case). */
export function refreshAnswer(refreshId: string, status: string, extra: Record<string, unknown> = {}) {
  return { body: { InstanceRefreshes: [{ InstanceRefreshId: refreshId, AutoScalingGroupName: GROUP, Status: status, ...extra }] } };
}

/** The run helpers, for the tests of one `describeWithEmulator`. */
export function amiRunHelpers(emulator: () => Emulator) {
  /**
   * A group in moto, the stage's template, its run table, the recorded job APIs and its state
   * machine. `waitSeconds` rewrites the image and refresh limits in the definition, for a test
   * that needs a wait to pass its limit in seconds (the construct refuses limits under a minute).
   */
  async function prepare(props: TestProps = {}, group: { size?: number; version?: string; mixed?: boolean } = {}, waitSeconds?: number) {
    const created = await createGroup(emulator(), group.size, group.version, group.mixed);
    const synthesized = synth(created.launchTemplateId, props);
    if (waitSeconds) {
      const json = JSON.stringify(synthesized.template.toJSON()).replace(/(\\"(?:imageTimeoutSeconds|timeoutSeconds)\\":)\d+/g, `$1${waitSeconds}`);
      synthesized.template = Template.fromJSON(JSON.parse(json));
    }
    process.env.TABLE_NAME = synthesized.tableName;
    await createRunTable(emulator(), synthesized.tableName);
    emulator().script('codepipeline', 'PutJobSuccessResult', { body: {} });
    emulator().script('codepipeline', 'PutJobFailureResult', { body: {} });
    // moto has no instance refreshes: none runs unless a test scripts one.
    emulator().script('autoscaling', 'DescribeInstanceRefreshes', { body: { InstanceRefreshes: [] } });
    const { stateMachineArn } = await emulator().createStateMachine(synthesized.template, synthesized.stateMachineId, {
      handlers: { RunFunction: RUN },
    });
    return { ...synthesized, ...created, stateMachineArn };
  }

  function pipelineJob(s: Synthesized, jobId: string, continuationToken?: string) {
    return pipelineJobEvent(s, jobId, { continuationToken });
  }

  /** The pipeline invokes the stage's action: the run handler records the run and starts the execution named after the job. */
  async function startRun(s: Synthesized, runId = 'job-1') {
    await emulator().invokeHandler(RUN, pipelineJob(s, runId), {}, { TABLE_NAME: s.tableName });
    return { executionArn: `${s.stateMachineArn.replace(':stateMachine:', ':execution:')}:${runId}` };
  }

  function deliverToEventFunction(s: Synthesized, event: object) {
    return emulator().invokeHandler(EVENT, event, {}, { TABLE_NAME: s.tableName });
  }

  const jobResults = (operation: string) => emulator().calls('codepipeline', operation).map(c => c.input);

  /** Exactly one job result for the run, and which. */
  function onlyResult(): { kind: 'success' | 'failure'; input: any } {
    const successes = jobResults('PutJobSuccessResult').filter(r => !r.continuationToken);
    const failures = jobResults('PutJobFailureResult');
    expect(successes.length + failures.length).toBe(1);
    return successes.length ? { kind: 'success', input: successes[0] } : { kind: 'failure', input: failures[0] };
  }

  return { prepare, pipelineJob, startRun, deliverToEventFunction, jobResults, onlyResult };
}
