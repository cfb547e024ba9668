import { ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ImageCapture, ImageCopyOptions, ImagePruning, InstanceRefreshOptions, ScaleInProtectedInstances, StandbyInstances } from './options';
import { amiRefreshDefinition } from './state-machine';
import { PipelineStage, RenderActionsOptions } from '../core/pipeline-stage';
import { lambdaTargetWithDeadLetterQueue } from '../core/private/event-delivery';
import { AMI_REFRESH_HISTORY, requireHistoryWithinLimit } from '../core/private/history-budget';
import { LongRunningJob, LongRunningJobFunctions } from '../core/private/long-running-job';
import { acknowledgeInvokeOfVersions, acknowledgeWildcard, nagArn } from '../core/private/nag';
import { PIPELINE_LAMBDA_ACTION_MAX_MS } from '../core/private/quotas';
import {
  invalid, requireDurationInRange, requireIntegerInRange, requireMatch, requireNonEmptyString, validateProps,
} from '../core/private/validation';

/** Properties of an `AmiRefreshStage`. */
export interface AmiRefreshStageProps {
  /** The group whose instance is imaged and whose launch template gets the new version. */
  readonly autoScalingGroup: autoscaling.IAutoScalingGroup;
  /**
   * The group's launch template (with a mixed instances policy: the policy's template). The stage
   * may only change this template.
   * @default - read from the group when it is an `autoscaling.AutoScalingGroup` of this app; required for an imported group
   */
  readonly launchTemplate?: ec2.ILaunchTemplate;
  /** @default ImageCapture.standby() */
  readonly imageCapture?: ImageCapture;
  /**
   * Name of the image: `{group}` is the group's name and `{executionId}` (required) the pipeline
   * execution id, so that a retried execution finds its image. Characters an image name may not
   * hold become `-`.
   * @default '{group}-{executionId}'
   */
  readonly imageName?: string;
  /**
   * Tags for the image and its snapshots, added to the stage's own (the group, the execution, the
   * commit and the stage).
   * @default - the stage's tags only
   */
  readonly imageTags?: { [key: string]: string };
  /**
   * A CodePipeline variable with the commit being released, e.g. `#{Source.CommitId}`, for the
   * image's `Commit` tag.
   * @default - no commit tag
   */
  readonly commitId?: string;
  /**
   * An encrypted copy, and copies to other regions.
   * @default - no copy
   */
  readonly imageCopy?: ImageCopyOptions;
  /**
   * Accounts the published image is shared with (launch permission).
   * @default - not shared
   */
  readonly shareWithAccounts?: string[];
  /**
   * Makes the new launch template version the template's default.
   * @default false
   */
  readonly makeDefaultVersion?: boolean;
  /**
   * Points the group at the new version's number. With an instance refresh pinned to the version,
   * the refresh does this when it succeeds instead.
   * @default true
   */
  readonly updateGroup?: boolean;
  /**
   * An SSM parameter (data type `aws:ec2:image`) that receives the new image id.
   * @default - none
   */
  readonly imageIdParameter?: ssm.IStringParameter;
  /**
   * Rolls the group's instances onto the new version, waited on to its end.
   * @default - no instance refresh
   */
  readonly instanceRefresh?: InstanceRefreshOptions;
  /**
   * Deregisters older images this stage made for the group, with their snapshots.
   * @default - no pruning
   */
  readonly pruning?: ImagePruning;
  /**
   * How long the stage waits for an image (and for its encrypted copy) to become available.
   * @default Duration.hours(1)
   */
  readonly imageTimeout?: Duration;
  /**
   * The role of the group's instance profile: Auto Scaling checks that the stage may pass it when
   * the group or a refresh uses the new version.
   * @default - the launch template has no instance profile
   */
  readonly instanceRole?: iam.IRole;
  /**
   * Image and refresh completion are event-driven; this is how long the stage waits for an event
   * before it looks itself (a direct Step Functions call, no function). From 1 second to 10 minutes.
   * @default Duration.minutes(5)
   */
  readonly backstopInterval?: Duration;
  /**
   * The whole run's limit (the state machine's timeout): the instance is returned to service and
   * the refresh cancelled (or rolled back) when it passes.
   * @default - the image waits, the refresh's timeout and 15 minutes
   */
  readonly timeout?: Duration;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Where events go that could not be delivered or handled (as for `VmCommandStage`).
   * @default - a new encrypted queue, shared by the stack's AMI stages
   */
  readonly deadLetterQueue?: sqs.IQueue;
}

/** The tag that marks the images and snapshots a stage made; only those may it deregister or delete. */
const STAGE_TAG_KEY = 'cdk-pipeline-stages:ami-refresh-stage';
/** CodePipeline's limit for a Lambda action. */
const MAX_RUN = Duration.millis(PIPELINE_LAMBDA_ACTION_MAX_MS);
const MARGIN = Duration.minutes(15);
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

interface GroupLaunchTemplate {
  readonly id: string;
}

/**
 * A pipeline stage that bakes an AMI from a healthy instance of an Auto Scaling group after a
 * deploy, publishes it as a new version of the group's launch template (every other setting kept),
 * optionally rolls the fleet with an instance refresh, and prunes the images it made before.
 *
 * A Lambda action starts the stage's state machine, which reports the job's result once; image and
 * refresh completion come from EventBridge events with a polling backstop. An instance put into
 * Standby always returns to service, and a stopped pipeline cancels (or rolls back) the refresh.
 */
export class AmiRefreshStage extends PipelineStage {
  /** The state machine that runs a release. */
  public readonly stateMachine: sfn.IStateMachine;
  /** Runs the action and the state machines' steps; shared by the stack's AMI stages. */
  public readonly runFunction: lambda.IFunction;
  /** Resumes waits on image and refresh events, and cleans up stopped runs; shared. */
  public readonly eventFunction: lambda.IFunction;
  /** Events that could not be delivered or handled; shared. */
  public readonly deadLetterQueue: sqs.IQueue;
  /** The whole run's limit. */
  public readonly timeout: Duration;
  /** The value of the `cdk-pipeline-stages:ami-refresh-stage` tag on the images this stage makes. */
  public readonly stageTagValue: string;

  private readonly job: LongRunningJob;
  private readonly commitId?: string;
  private readonly groupName: string;

  constructor(scope: Construct, id: string, props: AmiRefreshStageProps) {
    super(scope, id);
    const backstopInterval = props.backstopInterval ?? Duration.minutes(5);
    const imageTimeout = props.imageTimeout ?? Duration.hours(1);
    const refreshTimeout = props.instanceRefresh?.timeout ?? Duration.hours(2);
    const group = props.autoScalingGroup;
    const launchTemplate = validateProps(this, 'AmiRefreshStage', () => {
      validate(props);
      requireDurationInRange('backstopInterval', backstopInterval, Duration.seconds(1), Duration.minutes(10));
      requireDurationInRange('imageTimeout', imageTimeout, Duration.minutes(1), Duration.hours(12));
      requireDurationInRange('instanceRefresh.timeout', refreshTimeout, Duration.minutes(1), Duration.hours(20));
      return groupLaunchTemplate(group, props.launchTemplate);
    });
    this.timeout = validateProps(this, 'AmiRefreshStage', () => {
      const timeout = runTimeout(props, imageTimeout, refreshTimeout);
      requireHistoryWithinLimit(timeout, backstopInterval, AMI_REFRESH_HISTORY);
      return timeout;
    });
    this.stageTagValue = this.node.addr;
    this.commitId = props.commitId;
    this.groupName = group.autoScalingGroupName;

    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const functions = LongRunningJobFunctions.of(this, {
      asset: 'ami-refresh',
      constructName: 'AmiRefreshStage',
      deadLetterQueue: props.deadLetterQueue,
      onCreate: createSharedParts,
    });
    functions.retainLogsFor(logRetention);
    this.runFunction = functions.runFunction;
    this.eventFunction = functions.eventFunction;
    this.deadLetterQueue = functions.deadLetterQueue;

    const refresh = props.instanceRefresh;
    const config = {
      groupName: group.autoScalingGroupName,
      launchTemplateId: launchTemplate.id,
      capture: (props.imageCapture ?? ImageCapture.standby()).mode,
      imageName: props.imageName ?? '{group}-{executionId}',
      tags: { ...props.imageTags },
      stageTag: { key: STAGE_TAG_KEY, value: this.stageTagValue },
      imageTimeoutSeconds: imageTimeout.toSeconds(),
      copy: {
        kmsKeyArn: props.imageCopy?.kmsKey?.keyArn,
        regions: props.imageCopy?.regions ?? [],
      },
      shareWithAccounts: props.shareWithAccounts ?? [],
      publish: {
        makeDefault: props.makeDefaultVersion ?? false,
        updateGroup: props.updateGroup ?? true,
        parameterName: props.imageIdParameter?.parameterName,
      },
      refresh: refresh ? {
        timeoutSeconds: refreshTimeout.toSeconds(),
        pinVersion: refresh.pinVersion ?? true,
        preferences: {
          MinHealthyPercentage: refresh.minHealthyPercentage,
          MaxHealthyPercentage: refresh.maxHealthyPercentage,
          InstanceWarmup: refresh.instanceWarmup?.toSeconds(),
          SkipMatching: refresh.skipMatching ?? true,
          CheckpointPercentages: refresh.checkpointPercentages,
          CheckpointDelay: refresh.checkpointDelay?.toSeconds(),
          AutoRollback: refresh.autoRollback ?? false,
          ScaleInProtectedInstances: refresh.scaleInProtectedInstances ?? ScaleInProtectedInstances.WAIT,
          StandbyInstances: refresh.standbyInstances ?? StandbyInstances.WAIT,
        },
      } : undefined,
      pruning: props.pruning ? {
        keep: props.pruning.keep,
        maxAgeSeconds: props.pruning.maxAge?.toSeconds(),
        includeShared: props.pruning.includeShared,
      } : undefined,
    };

    const stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(amiRefreshDefinition(this, {
        runFunction: functions.runFunction,
        table: functions.table,
        config,
        groupName: group.autoScalingGroupName,
        backstopInterval,
        copy: props.imageCopy?.kmsKey !== undefined,
        refresh: refresh !== undefined,
        prune: props.pruning !== undefined,
      })),
      timeout: this.timeout,
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'StateMachineLogGroup', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    this.stateMachine = stateMachine;
    this.job = new LongRunningJob(this, 'Job', { functions, stateMachine, constructName: 'AmiRefreshStage', backstopInterval });
    this.grant(props, functions, launchTemplate);
    if (refresh) this.watchRefreshes(functions);
  }

  protected renderActions(options: RenderActionsOptions): codepipeline.IAction[] {
    return [this.job.action({ ...options, userParameters: { commitId: this.commitId ?? '' } })];
  }

  /** The group's refresh events resume the refresh wait of this stage's runs. */
  private watchRefreshes(functions: LongRunningJobFunctions): void {
    new events.Rule(this, 'RefreshEventRule', {
      description: 'Instance refreshes of an AmiRefreshStage\'s group that ended or rolled back',
      eventPattern: {
        source: ['aws.autoscaling'],
        detailType: [
          'EC2 Auto Scaling Instance Refresh Succeeded', 'EC2 Auto Scaling Instance Refresh Failed',
          'EC2 Auto Scaling Instance Refresh Cancelled', 'EC2 Auto Scaling Instance Refresh Rollback Succeeded',
          'EC2 Auto Scaling Instance Refresh Rollback Failed',
        ],
        detail: { AutoScalingGroupName: [this.groupName] },
      },
      targets: [lambdaTargetWithDeadLetterQueue(functions.eventFunction, functions.deadLetterQueue, Duration.hours(1))],
    });
  }

  private grant(props: AmiRefreshStageProps, functions: LongRunningJobFunctions, launchTemplate: GroupLaunchTemplate): void {
    const stack = Stack.of(this);
    const run = functions.runFunction;
    const groupArn = stack.formatArn({
      service: 'autoscaling', resource: 'autoScalingGroup', resourceName: `*:autoScalingGroupName/${this.groupName}`, arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const image = stack.formatArn({ service: 'ec2', account: '', resource: 'image', resourceName: '*' });
    const snapshot = stack.formatArn({ service: 'ec2', account: '', resource: 'snapshot', resourceName: '*' });
    const template = stack.formatArn({ service: 'ec2', resource: 'launch-template', resourceName: launchTemplate.id });
    const stageTag = { [`aws:ResourceTag/${STAGE_TAG_KEY}`]: this.stageTagValue };
    const requestTag = { [`aws:RequestTag/${STAGE_TAG_KEY}`]: this.stageTagValue };

    run.addToRolePolicy(new iam.PolicyStatement({
      actions: ['autoscaling:EnterStandby', 'autoscaling:ExitStandby', 'autoscaling:SetDesiredCapacity', 'autoscaling:UpdateAutoScalingGroup',
        'autoscaling:StartInstanceRefresh', 'autoscaling:CancelInstanceRefresh', 'autoscaling:RollbackInstanceRefresh'],
      resources: [groupArn],
    }));
    functions.eventFunction.addToRolePolicy(new iam.PolicyStatement({
      actions: ['autoscaling:ExitStandby', 'autoscaling:SetDesiredCapacity', 'autoscaling:CancelInstanceRefresh', 'autoscaling:RollbackInstanceRefresh'],
      resources: [groupArn],
    }));
    // The group's own instances only (Auto Scaling tags them with the group's name).
    run.addToRolePolicy(new iam.PolicyStatement({
      actions: ['ec2:CreateImage'],
      resources: [stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' })],
      conditions: { StringEquals: { 'aws:ResourceTag/aws:autoscaling:groupName': this.groupName } },
    }));
    // New images and snapshots must carry the stage's tag.
    run.addToRolePolicy(new iam.PolicyStatement({
      actions: ['ec2:CreateImage', ...(props.imageCopy ? ['ec2:CopyImage'] : [])],
      resources: [image, snapshot],
      conditions: { StringEquals: requestTag },
    }));
    run.addToRolePolicy(new iam.PolicyStatement({
      actions: ['ec2:CreateTags'],
      resources: [image, snapshot],
      conditions: { StringEquals: { 'ec2:CreateAction': props.imageCopy ? ['CreateImage', 'CopyImage'] : ['CreateImage'] } },
    }));
    const ownImages = ['ec2:DeregisterImage', 'ec2:DeleteSnapshot', ...(props.shareWithAccounts?.length ? ['ec2:ModifyImageAttribute'] : [])];
    if (props.pruning || props.shareWithAccounts?.length) {
      run.addToRolePolicy(new iam.PolicyStatement({ actions: ownImages, resources: [image, snapshot], conditions: { StringEquals: stageTag } }));
    }
    // Pruning keeps an image another account may launch: it reads the candidates' launch permissions.
    if (props.pruning) run.addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeImageAttribute'], resources: [image] }));
    run.addToRolePolicy(new iam.PolicyStatement({
      actions: ['ec2:CreateLaunchTemplateVersion', 'ec2:ModifyLaunchTemplate', 'ec2:DeleteLaunchTemplateVersions'],
      resources: [template],
    }));
    // Auto Scaling checks that whoever points a group (or a refresh) at a launch template version may
    // launch from it: RunInstances on the template and on what a launch from it uses and makes, the
    // tags of its tag specifications, and the instance profile's role.
    const regional = (resource: string) => stack.formatArn({ service: 'ec2', resource, resourceName: '*' });
    const launched = ['instance', 'volume', 'network-interface'].map(regional);
    run.addToRolePolicy(new iam.PolicyStatement({
      actions: ['ec2:RunInstances'],
      resources: [template, ...launched, ...['subnet', 'security-group', 'key-pair'].map(regional), image, snapshot],
      conditions: { ArnLike: { 'ec2:LaunchTemplate': template } },
    }));
    run.addToRolePolicy(new iam.PolicyStatement({
      actions: ['ec2:CreateTags'],
      resources: launched,
      conditions: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
    }));
    for (const resource of ['instance', 'volume', 'network-interface', 'subnet', 'security-group', 'key-pair']) {
      acknowledgeWildcard(run, nagArn(stack, 'ec2', true, `${resource}/*`),
        'RunInstances only for launches from the group\'s launch template (condition ec2:LaunchTemplate), which Auto Scaling checks when the group or a refresh uses a new version; tagging only within RunInstances (ec2:CreateAction).');
    }
    if (props.instanceRole) {
      run.addToRolePolicy(new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [props.instanceRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      }));
    }
    if (props.imageIdParameter) props.imageIdParameter.grantWrite(run);
    if (props.imageCopy?.kmsKey) {
      props.imageCopy.kmsKey.grant(run, 'kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo');
      // EC2 creates grants on the key for the copy's snapshots; nobody else gets one.
      run.addToRolePolicy(new iam.PolicyStatement({
        actions: ['kms:CreateGrant'],
        resources: [props.imageCopy.kmsKey.keyArn],
        conditions: { Bool: { 'kms:GrantIsForAWSResource': true } },
      }));
    }
    if (props.imageCopy?.regions?.length) {
      for (const region of props.imageCopy.regions) {
        const copies = [stack.formatArn({ service: 'ec2', region, account: '', resource: 'image', resourceName: '*' }),
          stack.formatArn({ service: 'ec2', region, account: '', resource: 'snapshot', resourceName: '*' })];
        run.addToRolePolicy(new iam.PolicyStatement({
          actions: ['ec2:CopyImage'], resources: copies, conditions: { StringEquals: requestTag },
        }));
        run.addToRolePolicy(new iam.PolicyStatement({
          actions: ['ec2:CreateTags'], resources: copies, conditions: { StringEquals: { ...requestTag, 'ec2:CreateAction': 'CopyImage' } },
        }));
        acknowledgeWildcard(run, `arn:<AWS::Partition>:ec2:${region}::image/*`, 'Copies get their ids in the other region when they are made; they must carry the stage\'s tag (aws:RequestTag), and tagging is allowed only within CopyImage (ec2:CreateAction).');
        acknowledgeWildcard(run, `arn:<AWS::Partition>:ec2:${region}::snapshot/*`, 'Copies get their ids in the other region when they are made.');
      }
    }
    const reason = 'Image and snapshot ids are assigned when the image is made: new ones must carry the stage\'s tag (aws:RequestTag), tagging is allowed only in CreateImage or CopyImage (ec2:CreateAction), and deregistering, deleting and sharing only images carrying the stage\'s tag (aws:ResourceTag).';
    acknowledgeWildcard(run, nagArn(stack, 'ec2', false, 'image/*'), reason);
    acknowledgeWildcard(run, nagArn(stack, 'ec2', false, 'snapshot/*'), reason);
    acknowledgeWildcard(run, nagArn(stack, 'ec2', true, 'instance/*'), 'CreateImage only on instances of the group (condition aws:ResourceTag/aws:autoscaling:groupName).');
    // cdk-nag spells a group of this stack by its logical id.
    const name = stack.resolve(this.groupName);
    const groupNagArn = `${nagArn(stack, 'autoscaling', true, 'autoScalingGroup')}:*:autoScalingGroupName/${typeof name === 'string' ? name : `<${name.Ref}>`}`;
    for (const f of [run, functions.eventFunction]) acknowledgeWildcard(f, groupNagArn, 'Group ARNs contain a generated id; the grant names the group.');

    functions.eventFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:SendTaskSuccess'], resources: [this.stateMachine.stateMachineArn] }));
    acknowledgeInvokeOfVersions(this.stateMachine, run, 'Step Functions invokes the stage\'s own function; CDK grants its versions and aliases too.');
    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ec2:DescribeImages, autoscaling:DescribeInstanceRefreshes (the backstop polls), X-Ray tracing and CloudWatch Logs delivery support no resource-level permissions.',
    });
  }
}

/** Once per stack: the reads that support no resource-level permissions, and the image event rule. */
function createSharedParts(functions: LongRunningJobFunctions): void {
  functions.grantAnyResource(functions.runFunction, [
    'autoscaling:DescribeAutoScalingGroups', 'autoscaling:DescribeAutoScalingInstances', 'autoscaling:DescribeInstanceRefreshes',
    'ec2:DescribeImages', 'ec2:DescribeInstances', 'ec2:DescribeLaunchTemplates', 'ec2:DescribeLaunchTemplateVersions',
  ], 'Auto Scaling and EC2 Describe* calls support no resource-level permissions.');
  functions.grantAnyResource(functions.eventFunction, ['autoscaling:DescribeAutoScalingGroups', 'autoscaling:DescribeAutoScalingInstances', 'autoscaling:DescribeInstanceRefreshes'],
    'Auto Scaling Describe* calls support no resource-level permissions.');
  functions.table.grant(functions.runFunction, 'dynamodb:DeleteItem');
  functions.table.grant(functions.eventFunction, 'dynamodb:DeleteItem');
  new events.Rule(functions, 'ImageEventRule', {
    description: 'Images that became available or failed: resumes AmiRefreshStage runs waiting on them',
    eventPattern: { source: ['aws.ec2'], detailType: ['EC2 AMI State Change'], detail: { State: ['available', 'failed'] } },
    targets: [lambdaTargetWithDeadLetterQueue(functions.eventFunction, functions.deadLetterQueue, Duration.hours(1))],
  });
}

/** The launch template the stage may change: given, or read from a group of this app. */
function groupLaunchTemplate(group: autoscaling.IAutoScalingGroup, given?: ec2.ILaunchTemplate): GroupLaunchTemplate {
  const cfn = group.node.defaultChild as autoscaling.CfnAutoScalingGroup | undefined;
  const isCfnGroup = cfn instanceof autoscaling.CfnAutoScalingGroup;
  if (isCfnGroup && cfn.launchConfigurationName !== undefined) {
    invalid('autoScalingGroup', 'use a launch template (the stage publishes a launch template version), not a launch configuration', group.node.path);
  }
  if (given) {
    if (given.launchTemplateId === undefined) invalid('launchTemplate', 'have an id (import it with `fromLaunchTemplateAttributes({ launchTemplateId })`)', given.launchTemplateName);
    return { id: given.launchTemplateId };
  }
  if (!isCfnGroup) invalid('launchTemplate', 'be set for an imported group (the stage may only change that template)', group.autoScalingGroupName);
  const mixed = Token.isUnresolved(cfn.mixedInstancesPolicy) ? undefined
    : (cfn.mixedInstancesPolicy as autoscaling.CfnAutoScalingGroup.MixedInstancesPolicyProperty | undefined);
  const mixedLaunchTemplate = mixed && !Token.isUnresolved(mixed.launchTemplate)
    ? (mixed.launchTemplate as autoscaling.CfnAutoScalingGroup.LaunchTemplateProperty).launchTemplateSpecification : undefined;
  const spec = (cfn.launchTemplate ?? mixedLaunchTemplate) as autoscaling.CfnAutoScalingGroup.LaunchTemplateSpecificationProperty | undefined;
  if (!spec) invalid('autoScalingGroup', 'have a launch template', group.node.path);
  if (!spec.launchTemplateId) invalid('launchTemplate', 'be set when the group names its launch template only by name', spec.launchTemplateName);
  return { id: spec.launchTemplateId };
}

/** The run's limit: given, or the image waits, the refresh and a margin. */
function runTimeout(props: AmiRefreshStageProps, imageTimeout: Duration, refreshTimeout: Duration): Duration {
  if (props.timeout) {
    requireDurationInRange('timeout', props.timeout, Duration.minutes(5), MAX_RUN);
    return props.timeout;
  }
  const parts = [imageTimeout, ...(props.imageCopy?.kmsKey ? [imageTimeout] : []), ...(props.instanceRefresh ? [refreshTimeout] : [])];
  if (parts.some(p => p.isUnresolved())) invalid('timeout', 'be set when `imageTimeout` or `instanceRefresh.timeout` is a token', undefined);
  const seconds = parts.reduce((sum, p) => sum + p.toSeconds(), MARGIN.toSeconds());
  if (seconds > MAX_RUN.toSeconds()) {
    invalid('imageTimeout + instanceRefresh.timeout + 15 minutes', 'be at most 24 hours (CodePipeline\'s limit for a Lambda action)', Duration.seconds(seconds).toHumanString());
  }
  return Duration.seconds(seconds);
}

function validate(props: AmiRefreshStageProps): void {
  const name = props.imageName;
  if (name !== undefined && !Token.isUnresolved(name)) {
    requireNonEmptyString('imageName', name);
    if (!name.includes('{executionId}')) invalid('imageName', 'contain `{executionId}` (a retried execution finds its image by name)', name);
    const fixed = name.replace(/\{group\}|\{executionId\}/g, '');
    requireMatch('imageName', fixed, /^[A-Za-z0-9()[\] ./\-'@_]*$/,
      'hold only letters, digits and ( ) [ ] space . / - \' @ _ besides the placeholders {group} and {executionId}');
    // The encrypted copy's name adds `-encrypted`.
    const room = 128 - 36 - (props.imageCopy?.kmsKey ? '-encrypted'.length : 0);
    if (fixed.length > room) invalid('imageName', `leave room for the 36-character execution id (at most ${room} other characters)`, name);
  }
  for (const key of Object.keys(props.imageTags ?? {})) {
    if (key.startsWith('aws:') || key === STAGE_TAG_KEY) invalid('imageTags', `not set \`${key}\` (reserved)`, key);
  }
  for (const account of props.shareWithAccounts ?? []) requireMatch('shareWithAccounts', account, ACCOUNT, 'hold 12-digit account ids');
  for (const region of props.imageCopy?.regions ?? []) requireMatch('imageCopy.regions', region, REGION, 'hold region names such as eu-west-1');
  if (props.imageCopy && !props.imageCopy.kmsKey && !props.imageCopy.regions?.length) invalid('imageCopy', 'set `kmsKey` or `regions`', {});
  const refresh = props.instanceRefresh;
  if (refresh) {
    requireIntegerInRange('instanceRefresh.minHealthyPercentage', refresh.minHealthyPercentage, 0, 100);
    requireIntegerInRange('instanceRefresh.maxHealthyPercentage', refresh.maxHealthyPercentage, 100, 200);
    const { minHealthyPercentage: min, maxHealthyPercentage: max } = refresh;
    if (max !== undefined && min === undefined) {
      invalid('instanceRefresh.minHealthyPercentage', 'be set with `maxHealthyPercentage` (StartInstanceRefresh refuses one without the other)', undefined);
    }
    if (max !== undefined && min !== undefined && !Token.isUnresolved(max) && !Token.isUnresolved(min) && max - min > 100) {
      invalid('instanceRefresh.maxHealthyPercentage', 'be at most 100 above `minHealthyPercentage` (StartInstanceRefresh refuses a wider range)', `${max} with minHealthyPercentage ${min}`);
    }
    if (refresh.autoRollback && refresh.pinVersion === false) {
      invalid('instanceRefresh.autoRollback', 'be used with `pinVersion` (Auto Scaling rolls back only to a desired configuration pinned to a version number)', true);
    }
    const checkpoints = refresh.checkpointPercentages;
    if (checkpoints && !Token.isUnresolved(checkpoints)) {
      checkpoints.forEach(p => requireIntegerInRange('instanceRefresh.checkpointPercentages', p, 1, 100));
      if (checkpoints.some((p, i) => i > 0 && p <= checkpoints[i - 1]) || checkpoints[checkpoints.length - 1] !== 100) {
        invalid('instanceRefresh.checkpointPercentages', 'be increasing and end at 100', checkpoints);
      }
    }
    if (refresh.checkpointDelay && !checkpoints) invalid('instanceRefresh.checkpointDelay', 'be used with `checkpointPercentages`', refresh.checkpointDelay.toHumanString());
    if (refresh.pinVersion === false && props.updateGroup === false) {
      invalid('instanceRefresh.pinVersion', 'be on, or `updateGroup` on, so that the refresh replaces instances with the new version', false);
    }
  }
  const pruning = props.pruning;
  if (pruning) {
    if (pruning.keep !== undefined) requireIntegerInRange('pruning keep count', pruning.keep, 1, 1000);
    if (pruning.maxAge) requireDurationInRange('pruning maxAge', pruning.maxAge, Duration.days(1), Duration.days(3650));
  }
}
