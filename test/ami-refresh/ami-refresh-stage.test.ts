import { App, CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { AmiRefreshStage, AmiRefreshStageProps, ImageCapture, ImagePruning, PipelineStageStep } from '../../src';
import { cfnLint, synthWithAwsSolutionsChecks } from '../template-checks';
import { definitionOf, ENV, pipelineStack, statementsOf } from '../vm-command/fixtures';

const RUN_FUNCTION = 'AmiRefreshStageSharedRunFunction';
const EVENT_FUNCTION = 'AmiRefreshStageSharedEventFunction';
const STAGE_TAG = 'cdk-pipeline-stages:ami-refresh-stage';

/** A VPC, a launch template with an instance role, and a group launching from it. */
function groupIn(stack: Stack, id = 'Web', options: { mixed?: boolean; launchConfiguration?: boolean } = {}) {
  const vpc = (stack.node.tryFindChild('Vpc') as ec2.Vpc) ?? new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
  const role = new iam.Role(stack, `${id}Role`, { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
  const launchTemplate = new ec2.LaunchTemplate(stack, `${id}Template`, {
    machineImage: ec2.MachineImage.latestAmazonLinux2023(),
    instanceType: new ec2.InstanceType('t3.micro'),
    role,
    requireImdsv2: true,
  });
  const group = new autoscaling.AutoScalingGroup(stack, `${id}Group`, {
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    ...(options.launchConfiguration
      ? { instanceType: new ec2.InstanceType('t3.micro'), machineImage: ec2.MachineImage.latestAmazonLinux2023() }
      : options.mixed
        ? { mixedInstancesPolicy: { launchTemplate, launchTemplateOverrides: [{ instanceType: new ec2.InstanceType('t3.small') }] } }
        : { launchTemplate }),
    minCapacity: 2,
  });
  return { group, launchTemplate, role };
}

function stageIn(props: Partial<AmiRefreshStageProps> = {}, place = true) {
  const setup = pipelineStack();
  const { group, launchTemplate, role } = groupIn(setup.stack);
  const stage = new AmiRefreshStage(setup.stack, 'Ami', { autoScalingGroup: group, instanceRole: role, ...props });
  if (place) stage.addToPipeline(setup.pipeline);
  return { ...setup, stage, group, launchTemplate };
}

function statementsWith(template: Template, prefix: string, action: string): any[] {
  return statementsOf(template, prefix).filter(s => [s.Action].flat().includes(action));
}

function resolved(stack: Stack, value: unknown): string {
  const r = stack.resolve(value);
  if (typeof r === 'string') return r;
  if (r['Fn::Join']) return r['Fn::Join'][1].map((p: any) => (typeof p === 'string' ? p : p.Ref ? `<${p.Ref}>` : '<partition>')).join('');
  return JSON.stringify(r);
}

describe('the pipeline action and state machine', () => {
  test('a Lambda action on the shared run function, with the commit and the pipeline execution', () => {
    const { stack } = stageIn({ commitId: '#{Source.CommitId}' });
    const [pipeline] = Object.values(Template.fromStack(stack).findResources('AWS::CodePipeline::Pipeline')) as any[];
    const action = pipeline.Properties.Stages.find((st: any) => st.Name === 'Ami').Actions[0];
    expect(action).toMatchObject({ ActionTypeId: { Category: 'Invoke', Provider: 'Lambda' } });
    const text = action.Configuration.UserParameters['Fn::Join'][1].map((p: unknown) => (typeof p === 'string' ? p : '<sm>')).join('');
    expect(JSON.parse(text)).toEqual({ commitId: '#{Source.CommitId}', stateMachineArn: '<sm>', pipelineExecutionId: '#{codepipeline.PipelineExecutionId}', renewAfterSeconds: 540 });
  });

  test('the waits poll with direct SDK tasks and park on a DynamoDB task token; no Lambda polls', () => {
    const { stack } = stageIn({ instanceRefresh: {}, pruning: ImagePruning.keepNewest(3), backstopInterval: Duration.minutes(2) });
    const definition = definitionOf(Template.fromStack(stack), 'Ami');
    const states = definition.States;
    expect(states.ImagePoll.Resource).toMatch(/:states:::aws-sdk:ec2:describeImages$/);
    expect(states.RefreshPoll.Resource).toMatch(/:states:::aws-sdk:autoscaling:describeInstanceRefreshes$/);
    expect(states.ImagePark.Resource).toMatch(/:states:::aws-sdk:dynamodb:putItem.waitForTaskToken$/);
    expect(states.ImagePark.TimeoutSeconds).toBe(120);
    expect(states.RefreshPark.TimeoutSeconds).toBe(120);
    // Lambda steps: one per phase, plus the job renewal only when it is due.
    const lambdaStates = Object.entries(states).filter(([, s]: any) => String(s.Resource).includes('RunFunction')).map(([name]) => name).sort();
    expect(lambdaStates).toEqual(['CreateImage', 'Finish', 'ImageRenewJob', 'Prepare', 'Prune', 'Publish', 'Release', 'RefreshRenewJob', 'StartRefresh'].sort());
    expect(states.ImageState.Choices.map((c: any) => c.Next)).toEqual(['Release', 'ImageFailed', 'ImageTimedOut', 'ImageRenewJob']);
    expect(states.ImageState.Default).toBe('ImagePark');
  });

  test('without copy, refresh or pruning those states are absent; an encrypted copy adds its own wait', () => {
    const plain = definitionOf(Template.fromStack(stageIn().stack), 'Ami').States;
    expect(Object.keys(plain).filter(n => /Refresh|Prune|Copy/.test(n))).toEqual([]);
    const setup = pipelineStack();
    const key = new kms.Key(setup.stack, 'Key', { enableKeyRotation: true });
    new AmiRefreshStage(setup.stack, 'Ami', { autoScalingGroup: groupIn(setup.stack).group, imageCopy: { kmsKey: key } }).addToPipeline(setup.pipeline);
    const copied = definitionOf(Template.fromStack(setup.stack), 'Ami').States;
    expect(copied.Release.Next).toBe('CopyPoll');
    expect(copied.CopyState.Choices[0].Next).toBe('Publish');
  });

  test('the run\'s limit adds the image wait, the copy wait, the refresh and 15 minutes', () => {
    expect(stageIn().stage.timeout.toMinutes()).toBe(75);
    expect(stageIn({ instanceRefresh: { timeout: Duration.minutes(30) }, imageTimeout: Duration.minutes(20) }).stage.timeout.toMinutes()).toBe(65);
  });

  test('works as a CDK Pipelines step', () => {
    const app = new App();
    const stack = new Stack(app, 'CdkPipelineStack', { env: ENV });
    const bucket = new s3.Bucket(stack, 'SourceBucket', { versioned: true });
    const source = pipelines.CodePipelineSource.s3(bucket, 'src.zip');
    const pipeline = new pipelines.CodePipeline(stack, 'Pipeline', {
      synth: new pipelines.ShellStep('Synth', { input: source, commands: ['echo synth'], primaryOutputDirectory: '.' }),
    });
    const stage = new AmiRefreshStage(stack, 'BakeImage', { autoScalingGroup: groupIn(stack).group });
    pipeline.addWave('Release', { post: [PipelineStageStep.fromStage(stage)] });
    pipeline.buildPipeline();
    const [resource] = Object.values(Template.fromStack(stack).findResources('AWS::CodePipeline::Pipeline')) as any[];
    const release = resource.Properties.Stages.find((s: any) => s.Name === 'Release');
    expect(release.Actions[0]).toMatchObject({ Name: 'BakeImage', ActionTypeId: { Provider: 'Lambda' } });
  });

  test('two stages for two groups in one pipeline share the functions and the image rule, each with its own state machine and refresh rule', () => {
    const { stack, pipeline } = pipelineStack();
    const web = groupIn(stack, 'Web');
    const api = groupIn(stack, 'Api');
    new AmiRefreshStage(stack, 'WebImage', { autoScalingGroup: web.group, instanceRefresh: {} }).addToPipeline(pipeline);
    new AmiRefreshStage(stack, 'ApiImage', { autoScalingGroup: api.group, instanceRefresh: {} }).addToPipeline(pipeline);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 2);
    template.resourceCountIs('AWS::Lambda::Function', 2);
    const rules = Object.values(template.findResources('AWS::Events::Rule')) as any[];
    expect(rules.filter(r => r.Properties.EventPattern.source?.[0] === 'aws.ec2')).toHaveLength(1);
    const refreshRules = rules.filter(r => r.Properties.EventPattern.source?.[0] === 'aws.autoscaling');
    expect(refreshRules.map(r => r.Properties.EventPattern.detail.AutoScalingGroupName[0].Ref).sort())
      .toEqual([stack.getLogicalId(api.group.node.defaultChild as CfnElement), stack.getLogicalId(web.group.node.defaultChild as CfnElement)].sort());
    const tags = [stack.node.findChild('WebImage') as AmiRefreshStage, stack.node.findChild('ApiImage') as AmiRefreshStage].map(s => s.stageTagValue);
    expect(new Set(tags).size).toBe(2);
  });
});

describe('IAM', () => {
  test('Auto Scaling calls on the group\'s ARN only; the event function may only exit Standby and stop refreshes', () => {
    const { stack } = stageIn();
    const template = Template.fromStack(stack);
    const groupRef = stack.getLogicalId(stack.node.findChild('WebGroup').node.defaultChild as CfnElement);
    const [run] = statementsWith(template, RUN_FUNCTION, 'autoscaling:EnterStandby');
    expect(run.Action).toEqual(['autoscaling:EnterStandby', 'autoscaling:ExitStandby', 'autoscaling:SetDesiredCapacity', 'autoscaling:UpdateAutoScalingGroup',
      'autoscaling:StartInstanceRefresh', 'autoscaling:CancelInstanceRefresh', 'autoscaling:RollbackInstanceRefresh']);
    expect(resolved(stack, run.Resource)).toBe(`arn:<AWS::Partition>:autoscaling:eu-west-1:111111111111:autoScalingGroup:*:autoScalingGroupName/<${groupRef}>`);
    const [event] = statementsWith(template, EVENT_FUNCTION, 'autoscaling:ExitStandby');
    expect(event.Action).toEqual(['autoscaling:ExitStandby', 'autoscaling:SetDesiredCapacity', 'autoscaling:CancelInstanceRefresh', 'autoscaling:RollbackInstanceRefresh']);
    expect(statementsWith(template, EVENT_FUNCTION, 'autoscaling:EnterStandby')).toEqual([]);
  });

  test('CreateImage on the group\'s instances (tag condition) and only for images and snapshots carrying the stage\'s tag', () => {
    const { stack, stage } = stageIn();
    const statements = statementsWith(Template.fromStack(stack), RUN_FUNCTION, 'ec2:CreateImage');
    expect(statements).toHaveLength(2);
    const [instances, images] = statements;
    expect(resolved(stack, instances.Resource)).toBe('arn:<AWS::Partition>:ec2:eu-west-1:111111111111:instance/*');
    expect(Object.keys(instances.Condition.StringEquals)).toEqual(['aws:ResourceTag/aws:autoscaling:groupName']);
    expect(images.Resource.map((r: unknown) => resolved(stack, r))).toEqual(['arn:<AWS::Partition>:ec2:eu-west-1::image/*', 'arn:<AWS::Partition>:ec2:eu-west-1::snapshot/*']);
    expect(images.Condition).toEqual({ StringEquals: { [`aws:RequestTag/${STAGE_TAG}`]: stage.stageTagValue } });
  });

  test('tagging only within CreateImage; deregister and delete only with the stage\'s tag', () => {
    const { stack, stage } = stageIn({ pruning: ImagePruning.keepNewest(2) });
    const template = Template.fromStack(stack);
    const [tags] = statementsWith(template, RUN_FUNCTION, 'ec2:CreateTags');
    expect(tags.Condition).toEqual({ StringEquals: { 'ec2:CreateAction': ['CreateImage'] } });
    const [own] = statementsWith(template, RUN_FUNCTION, 'ec2:DeregisterImage');
    expect(own.Action).toEqual(['ec2:DeregisterImage', 'ec2:DeleteSnapshot']);
    expect(own.Condition).toEqual({ StringEquals: { [`aws:ResourceTag/${STAGE_TAG}`]: stage.stageTagValue } });
  });

  test('without pruning or sharing nothing may be deregistered or deleted', () => {
    const template = Template.fromStack(stageIn().stack);
    expect(statementsWith(template, RUN_FUNCTION, 'ec2:DeregisterImage')).toEqual([]);
    expect(statementsWith(template, RUN_FUNCTION, 'ec2:DeleteSnapshot')).toEqual([]);
  });

  // EC2 Auto Scaling user guide, "Control Amazon EC2 launch template usage in Auto Scaling groups": the
  // caller of UpdateAutoScalingGroup/StartInstanceRefresh with a launch template needs ec2:RunInstances,
  // iam:PassRole for its instance profile, and ec2:CreateTags (ec2:CreateAction = RunInstances) for its
  // tag specifications. EC2 user guide, IAM policy examples, "Launch instances from a launch template":
  // the ec2:LaunchTemplate condition key. Service Authorization Reference, Amazon EC2: RunInstances acts
  // on launch-template, instance, volume, network-interface, subnet, security-group, key-pair, image and
  // snapshot; CreateTags takes ec2:CreateAction. IAM user guide, iam:PassedToService.
  test('the group\'s CDK launch template (with tag specifications): launching through that template only, its tags within RunInstances, PassRole to EC2 only', () => {
    const { stack, launchTemplate } = stageIn();
    const template = Template.fromStack(stack);
    const templateRef = stack.getLogicalId(launchTemplate.node.defaultChild as CfnElement);
    const lt = template.findResources('AWS::EC2::LaunchTemplate')[templateRef];
    expect(lt.Properties.LaunchTemplateData.TagSpecifications.map((t: any) => t.ResourceType)).toEqual(expect.arrayContaining(['instance', 'volume']));
    const templateArn = `arn:<AWS::Partition>:ec2:eu-west-1:111111111111:launch-template/<${templateRef}>`;
    const [versions] = statementsWith(template, RUN_FUNCTION, 'ec2:CreateLaunchTemplateVersion');
    expect(versions.Action).toEqual(['ec2:CreateLaunchTemplateVersion', 'ec2:ModifyLaunchTemplate', 'ec2:DeleteLaunchTemplateVersions']);
    expect(resolved(stack, versions.Resource)).toBe(templateArn);
    const [run] = statementsWith(template, RUN_FUNCTION, 'ec2:RunInstances');
    const own = (r: string) => `arn:<AWS::Partition>:ec2:eu-west-1:111111111111:${r}/*`;
    expect(run.Resource.map((r: unknown) => resolved(stack, r))).toEqual([templateArn,
      ...['instance', 'volume', 'network-interface', 'subnet', 'security-group', 'key-pair'].map(own),
      'arn:<AWS::Partition>:ec2:eu-west-1::image/*', 'arn:<AWS::Partition>:ec2:eu-west-1::snapshot/*']);
    expect(Object.keys(run.Condition)).toEqual(['ArnLike']);
    expect(resolved(stack, run.Condition.ArnLike['ec2:LaunchTemplate'])).toBe(templateArn);
    const launchTags = statementsWith(template, RUN_FUNCTION, 'ec2:CreateTags').filter(s => s.Condition.StringEquals['ec2:CreateAction'] === 'RunInstances');
    expect(launchTags).toHaveLength(1);
    expect(launchTags[0].Resource.map((r: unknown) => resolved(stack, r))).toEqual(['instance', 'volume', 'network-interface'].map(own));
    const [pass] = statementsWith(template, RUN_FUNCTION, 'iam:PassRole');
    expect(pass.Resource).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(stack.node.findChild('WebRole').node.defaultChild as CfnElement), 'Arn'] });
    expect(pass.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } });
  });

  // Service Authorization Reference, Amazon EC2: CopyImage and CreateTags on image and snapshot take
  // aws:RequestTag, CreateTags takes ec2:CreateAction. Service Authorization Reference, AWS KMS:
  // CreateGrant takes kms:GrantIsForAWSResource (AWS KMS developer guide, "kms:GrantIsForAWSResource").
  test('copies to other regions only with the stage\'s tag, tagged only within CopyImage; grants on the key only for AWS services', () => {
    const setup = pipelineStack();
    const key = new kms.Key(setup.stack, 'Key', { enableKeyRotation: true });
    const stage = new AmiRefreshStage(setup.stack, 'Ami', { autoScalingGroup: groupIn(setup.stack).group, imageCopy: { kmsKey: key, regions: ['eu-central-1'] } });
    stage.addToPipeline(setup.pipeline);
    const template = Template.fromStack(setup.stack);
    const inRegion = (s: any) => [s.Resource].flat().every((r: unknown) => resolved(setup.stack, r).includes(':eu-central-1:'));
    const copy = statementsWith(template, RUN_FUNCTION, 'ec2:CopyImage').filter(inRegion);
    expect(copy).toHaveLength(1);
    expect(copy[0].Action).toBe('ec2:CopyImage');
    expect(copy[0].Condition).toEqual({ StringEquals: { [`aws:RequestTag/${STAGE_TAG}`]: stage.stageTagValue } });
    const tags = statementsWith(template, RUN_FUNCTION, 'ec2:CreateTags').filter(inRegion);
    expect(tags).toHaveLength(1);
    expect(tags[0].Condition).toEqual({ StringEquals: { [`aws:RequestTag/${STAGE_TAG}`]: stage.stageTagValue, 'ec2:CreateAction': 'CopyImage' } });
    const grants = statementsWith(template, RUN_FUNCTION, 'kms:CreateGrant');
    expect(grants).toHaveLength(1);
    expect(grants[0].Action).toBe('kms:CreateGrant');
    expect(grants[0].Condition).toEqual({ Bool: { 'kms:GrantIsForAWSResource': true } });
  });

  test('the SSM parameter and the KMS key are granted when given', () => {
    const setup = pipelineStack();
    const key = new kms.Key(setup.stack, 'Key', { enableKeyRotation: true });
    const parameter = new ssm.StringParameter(setup.stack, 'ImageId', { stringValue: 'ami-00000000', dataType: ssm.ParameterDataType.AWS_EC2_IMAGE });
    new AmiRefreshStage(setup.stack, 'Ami', { autoScalingGroup: groupIn(setup.stack).group, imageCopy: { kmsKey: key }, imageIdParameter: parameter })
      .addToPipeline(setup.pipeline);
    const template = Template.fromStack(setup.stack);
    expect(statementsWith(template, RUN_FUNCTION, 'ssm:PutParameter')).toHaveLength(1);
    const [kmsGrant] = statementsWith(template, RUN_FUNCTION, 'kms:CreateGrant');
    expect(kmsGrant.Resource).toEqual({ 'Fn::GetAtt': [setup.stack.getLogicalId(key.node.defaultChild as CfnElement), 'Arn'] });
    const [tags] = statementsWith(template, RUN_FUNCTION, 'ec2:CreateTags').filter(s => s.Condition.StringEquals['ec2:CreateAction'] !== 'RunInstances');
    expect(tags.Condition.StringEquals['ec2:CreateAction']).toEqual(['CreateImage', 'CopyImage']);
  });

  test('the state machine may store task tokens in the run table, and Describe* anywhere (acknowledged)', () => {
    const { stack } = stageIn({ instanceRefresh: {} });
    const template = Template.fromStack(stack);
    const machinePolicy = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p: any) => JSON.stringify(p.Properties.Roles).includes('AmiStateMachineRole'))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const actions = machinePolicy.flatMap((s: any) => [s.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'ec2:DescribeImages', 'autoscaling:DescribeInstanceRefreshes']));
    expect(actions.filter((a: string) => /^(ec2|autoscaling):(?!Describe)/.test(a))).toEqual([]);
  });
});

describe('validation', () => {
  const cases: Array<[string, () => void, string]> = [
    ['a group with a launch configuration', () => {
      const setup = pipelineStack();
      new AmiRefreshStage(setup.stack, 'Ami', { autoScalingGroup: groupIn(setup.stack, 'Web', { launchConfiguration: true }).group });
    }, 'AmiRefreshStage at PipelineStack/Ami: `autoScalingGroup` must use a launch template (the stage publishes a launch template version), not a launch configuration, got: \'PipelineStack/WebGroup\''],
    ['an imported group without its launch template', () => {
      const setup = pipelineStack();
      new AmiRefreshStage(setup.stack, 'Ami', { autoScalingGroup: autoscaling.AutoScalingGroup.fromAutoScalingGroupName(setup.stack, 'G', 'web') });
    }, 'AmiRefreshStage at PipelineStack/Ami: `launchTemplate` must be set for an imported group (the stage may only change that template), got: \'web\''],
    ['a launch template known only by name', () => {
      const setup = pipelineStack();
      new AmiRefreshStage(setup.stack, 'Ami', {
        autoScalingGroup: autoscaling.AutoScalingGroup.fromAutoScalingGroupName(setup.stack, 'G', 'web'),
        launchTemplate: ec2.LaunchTemplate.fromLaunchTemplateAttributes(setup.stack, 'T', { launchTemplateName: 'web' }),
      });
    }, '`launchTemplate` must have an id (import it with `fromLaunchTemplateAttributes({ launchTemplateId })`), got: \'web\''],
    ['pruning with keep < 1', () => stageIn({ pruning: ImagePruning.keepNewest(0) }, false), '`pruning keep count` must be an integer from 1 to 1000, got: 0'],
    ['auto-rollback without pinning', () => stageIn({ instanceRefresh: { autoRollback: true, pinVersion: false } }, false),
      '`instanceRefresh.autoRollback` must be used with `pinVersion` (Auto Scaling rolls back only to a desired configuration pinned to a version number), got: true'],
    ['an image name without the execution id', () => stageIn({ imageName: 'web-{group}' }, false),
      '`imageName` must contain `{executionId}` (a retried execution finds its image by name), got: \'web-{group}\''],
    ['an image name with a character images refuse', () => stageIn({ imageName: 'web#{executionId}' }, false), '`imageName` must hold only letters'],
    ['a reserved tag', () => stageIn({ imageTags: { [STAGE_TAG]: 'x' } }, false), '`imageTags` must not set `cdk-pipeline-stages:ami-refresh-stage` (reserved)'],
    ['a malformed account', () => stageIn({ shareWithAccounts: ['12345'] }, false), '`shareWithAccounts` must hold 12-digit account ids, got: \'12345\''],
    ['a malformed region', () => stageIn({ imageCopy: { regions: ['Europe'] } }, false), '`imageCopy.regions` must hold region names such as eu-west-1'],
    ['an empty copy', () => stageIn({ imageCopy: {} }, false), '`imageCopy` must set `kmsKey` or `regions`'],
    ['checkpoints that do not end at 100', () => stageIn({ instanceRefresh: { checkpointPercentages: [20, 50] } }, false),
      '`instanceRefresh.checkpointPercentages` must be increasing and end at 100, got: [20,50]'],
    ['a checkpoint delay without checkpoints', () => stageIn({ instanceRefresh: { checkpointDelay: Duration.minutes(5) } }, false),
      '`instanceRefresh.checkpointDelay` must be used with `checkpointPercentages`'],
    ['max healthy percentage out of range', () => stageIn({ instanceRefresh: { maxHealthyPercentage: 250 } }, false),
      '`instanceRefresh.maxHealthyPercentage` must be an integer from 100 to 200, got: 250'],
    // Step Functions service quotas: a Standard execution fails at 25,000 history events.
    ['a backstop whose cycles over the run would pass the history limit', () => stageIn({ backstopInterval: Duration.seconds(2), timeout: Duration.hours(24) }, false),
      "`backstopInterval` must be at least 59 s for a `timeout` of 1 day: each backstop cycle adds about 13 history events and an execution fails at 25,000, got: '2 seconds'"],
    // Auto Scaling API reference, RefreshPreferences.MaxHealthyPercentage: 100 to 200; MinHealthyPercentage
    // must be given with it, and the difference between them cannot be greater than 100.
    ['max healthy percentage without min', () => stageIn({ instanceRefresh: { maxHealthyPercentage: 150 } }, false),
      '`instanceRefresh.minHealthyPercentage` must be set with `maxHealthyPercentage` (StartInstanceRefresh refuses one without the other), got: undefined'],
    ['a healthy range wider than 100', () => stageIn({ instanceRefresh: { minHealthyPercentage: 50, maxHealthyPercentage: 200 } }, false),
      '`instanceRefresh.maxHealthyPercentage` must be at most 100 above `minHealthyPercentage` (StartInstanceRefresh refuses a wider range), got: \'200 with minHealthyPercentage 50\''],
    ['a backstop longer than 10 minutes', () => stageIn({ backstopInterval: Duration.minutes(11) }, false), '`backstopInterval` must be from 1 second to 10 minutes, got: \'11 minutes\''],
    ['a run longer than CodePipeline allows', () => stageIn({ imageTimeout: Duration.hours(12), imageCopy: { kmsKey: undefined, regions: ['eu-west-2'] }, instanceRefresh: { timeout: Duration.hours(13) } }, false),
      'must be at most 24 hours'],
    ['an unpinned refresh that does not update the group', () => stageIn({ instanceRefresh: { pinVersion: false }, updateGroup: false }, false),
      '`instanceRefresh.pinVersion` must be on, or `updateGroup` on'],
  ];
  test.each(cases)('%s is refused at synth with a message naming the construct', (_name, build, message) => {
    expect(build).toThrow(message);
  });

  test('a healthy range of at most 100 is accepted', () => {
    expect(() => stageIn({ instanceRefresh: { minHealthyPercentage: 90, maxHealthyPercentage: 190 } })).not.toThrow();
  });

  test('a stage never placed in a pipeline fails synth', () => {
    const { stack } = stageIn({}, false);
    expect(() => Template.fromStack(stack)).toThrow(/AmiRefreshStage at PipelineStack\/Ami was never placed in a pipeline/);
  });

  test('a group with a mixed instances policy: the policy\'s launch template is the stage\'s', () => {
    const setup = pipelineStack();
    const { group, launchTemplate } = groupIn(setup.stack, 'Web', { mixed: true });
    new AmiRefreshStage(setup.stack, 'Ami', { autoScalingGroup: group, imageCapture: ImageCapture.noReboot() }).addToPipeline(setup.pipeline);
    const text = JSON.stringify(Template.fromStack(setup.stack).findResources('AWS::StepFunctions::StateMachine'));
    // The definition names the policy's template, not the override's.
    expect(text).toContain(`{"Ref":"${setup.stack.getLogicalId(launchTemplate.node.defaultChild as CfnElement)}"}`);
    expect(text).toContain('\\"capture\\":\\"noReboot\\"');
  });
});

describe('compliance', () => {
  function fullStack(app: App) {
    const { stack, pipeline } = pipelineStack(app);
    const { group, role } = groupIn(stack);
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    new AmiRefreshStage(stack, 'Ami', {
      autoScalingGroup: group,
      instanceRole: role,
      instanceRefresh: { autoRollback: true },
      pruning: ImagePruning.keepNewest(5),
      imageCopy: { kmsKey: key, regions: ['eu-central-1'] },
      shareWithAccounts: ['222222222222'],
    }).addToPipeline(pipeline);
    return stack;
  }

  test('cdk-nag AwsSolutions finds nothing unacknowledged in the stage', () => {
    const app = new App();
    const stack = fullStack(app);
    // The pipeline, its buckets, the VPC and the group are the test's, not the stage's.
    const testOwn = ['AwsSolutions-S1', 'AwsSolutions-KMS5', 'AwsSolutions-VPC7', 'AwsSolutions-EC23', 'AwsSolutions-EC26', 'AwsSolutions-AS3', 'AwsSolutions-IAM5[Action::s3:GetBucket*]',
      'AwsSolutions-IAM5[Action::s3:GetObject*]', 'AwsSolutions-IAM5[Action::s3:List*]', 'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
      'AwsSolutions-IAM5[Action::s3:Abort*]', 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(stack.node.findChild('Pipeline').node.findChild('ArtifactsBucket').node.defaultChild as CfnElement)}.Arn>/*]`,
      `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(stack.node.findChild('SourceBucket').node.defaultChild as CfnElement)}.Arn>/*]`];
    for (const id of testOwn) {
      for (const scope of ['Pipeline', 'SourceBucket', 'Vpc', 'WebGroup', 'WebTemplate']) Validations.of(stack.node.findChild(scope)).acknowledge({ id, reason: 'the test\'s pipeline, buckets and group' });
    }
    expect(() => synthWithAwsSolutionsChecks(app)).not.toThrow();
  });

  test('cfn-lint finds no error in the template', () => {
    const result = cfnLint(fullStack(new App()));
    expect(result.output).not.toMatch(/^E\d+/m);
    expect(result.status).toBe(0);
  });
});
