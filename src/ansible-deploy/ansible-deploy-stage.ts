import * as path from 'path';
import { Annotations, Duration, Names, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { AnsibleHostAddress, AnsibleInventory } from './inventory';
import { buildSpecObject } from './private/buildspec';
import { parameterArn, TransportConfig } from './private/config';
import { AnsibleDeployLocks } from './private/locks';
import { AnsibleTransport } from './transport';
import { FileParameterType } from '../core/file-parameter-type';
import { PipelineStage, RenderActionsOptions } from '../core/pipeline-stage';
import { actionPart } from '../core/private/action-parts';
import { assetPath } from '../core/private/bundled-function';
import { acknowledgeWildcard } from '../core/private/nag';
import { requireParametersFileInput, validateParametersFileProps } from '../core/private/parameters-file';
import { acknowledgeArtifactRead, StageAction } from '../core/private/stage-action';
import {
  invalid, requireDurationInRange, requireIntegerInRange, requireMatch, requireNonEmptyString, validateProps,
} from '../core/private/validation';

/** Properties of an `AnsibleDeployStage`. */
export interface AnsibleDeployStageProps {
  /** The playbook, relative to the input artifact's root, e.g. `site.yml`. */
  readonly playbook: string;
  /** The hosts: a file in the artifact, or EC2 instances found by their tags. */
  readonly inventory: AnsibleInventory;
  /** How ansible reaches the hosts: SSH (with strict host keys) or SSM Session Manager. */
  readonly transport: AnsibleTransport;
  /**
   * ansible-playbook's `--limit` pattern.
   * @default - every host of the plays
   */
  readonly limit?: string;
  /**
   * Only run tasks with these tags (`--tags`).
   * @default - every task
   */
  readonly tags?: string[];
  /**
   * Skip tasks with these tags (`--skip-tags`).
   * @default - none skipped
   */
  readonly skipTags?: string[];
  /**
   * Hosts configured in parallel (`--forks`), from 1 to 1000.
   * @default - ansible's default (5)
   */
  readonly forks?: number;
  /**
   * Verbosity, from 0 to 4 (`-v` to `-vvvv`). Verbose output can show task arguments.
   * @default 0
   */
  readonly verbosity?: number;
  /**
   * Extra vars for every run (JSON values: strings, numbers, booleans, lists, maps), passed in a
   * file to `--extra-vars`. Written in the CDK app like the playbook, they may hold Jinja templates.
   * @default - none
   */
  readonly extraVars?: { [name: string]: any };
  /**
   * Extra vars whose values contain CodePipeline variables, resolved per run, e.g.
   * `{ commit_id: '#{Source.CommitId}' }`. They are strings and override `extraVars`. Their values
   * reach ansible as data (`!unsafe`): a Jinja expression in them is never evaluated.
   * @default - none
   */
  readonly variableExtraVars?: { [name: string]: string };
  /**
   * Path, in the input artifact, of a JSON file that sets extra vars per run:
   * `{ "parameters": { "name": value } }`. It is validated before ansible runs, exactly like
   * VmCommandStage's parameters file; its values override the other extra vars and reach ansible as
   * data (`!unsafe`), never as templates. When set, the file must exist.
   * @default - no parameters file
   */
  readonly parametersFile?: string;
  /**
   * The extra vars the parameters file may set, with their types. Any other key, a wrong type or
   * malformed JSON fails the run before ansible starts.
   * @default - the file may set none
   */
  readonly fileParameters?: { [name: string]: FileParameterType };
  /**
   * Preview and approval: the stage renders three actions, a `--check --diff` run, a manual
   * approval whose message summarises the hosts and the changed task count, and the run itself,
   * limited to the hosts the check saw and using the same artifact.
   * @default false - one action, the run
   */
  readonly preview?: boolean;
  /**
   * Topic notified when the preview waits for approval.
   * @default - no notification
   */
  readonly approvalTopic?: sns.ITopic;
  /**
   * The concurrency lock's name. Runs holding the same name never overlap: a run waits until the
   * previous one has finished. Give stages that configure the same hosts the same name.
   * @default - the stage's own lock (its construct address)
   */
  readonly lockName?: string;
  /**
   * The build's timeout, which is also the lock's lease.
   * @default Duration.hours(1)
   */
  readonly timeout?: Duration;
  /**
   * A build image with ansible-core, boto3, the `amazon.aws` collection (and for SSM,
   * `community.aws` and the session-manager-plugin), Node.js 18 or later and the AWS CLI
   * installed. The stage then installs nothing.
   * @default - the CodeBuild standard 7.0 image, with the pinned versions installed
   */
  readonly buildImage?: codebuild.IBuildImage;
  /**
   * The build's compute type.
   * @default codebuild.ComputeType.SMALL
   */
  readonly computeType?: codebuild.ComputeType;
  /**
   * ansible-core version installed from PyPI. 2.17 runs its controller on Python 3.10 to 3.12,
   * so the standard 7.0 image's Python 3.11 is well inside its range, and the amazon.aws and
   * community.aws 9 collections support it (2.20 and later need Python 3.12).
   * @default '2.17.12'
   */
  readonly ansibleCoreVersion?: string;
  /**
   * `amazon.aws` collection version installed from Ansible Galaxy (9.x supports ansible-core 2.15+;
   * 10 and later need ansible-core 2.17+ and carry the SSM transport's `amazon.aws.aws_ssm` plugin).
   * @default '9.5.0'
   */
  readonly amazonAwsCollectionVersion?: string;
  /**
   * `community.aws` collection version, installed for the SSM transport when its `aws_ssm` connection
   * plugin comes from it: amazon.aws 10 and later carry the plugin (`amazon.aws.aws_ssm`), and then
   * community.aws is installed only if this is set. community.aws 10 needs amazon.aws 10.
   * @default '9.3.0' (with amazon.aws before 10)
   */
  readonly communityAwsCollectionVersion?: string;
  /**
   * boto3 version installed from PyPI (the inventory plugin and the SSM transport use it).
   * @default '1.38.0'
   */
  readonly boto3Version?: string;
  /**
   * A pip requirements file in the artifact, installed before the run when present.
   * @default 'requirements.txt'
   */
  readonly pythonRequirementsFile?: string;
  /**
   * An Ansible Galaxy requirements file in the artifact, installed before the run when present.
   * @default 'collections/requirements.yml'
   */
  readonly collectionsRequirementsFile?: string;
  /**
   * The VPC the build runs in (e.g. private subnets that reach the hosts). See the README for
   * the VPC endpoints a subnet without NAT needs.
   * @default - no VPC: the build has internet access and reaches public addresses only
   */
  readonly vpc?: ec2.IVpc;
  /**
   * The subnets of `vpc`.
   * @default - the VPC's private subnets
   */
  readonly subnetSelection?: ec2.SubnetSelection;
  /**
   * Security groups of the build.
   * @default - a new security group that allows all outbound traffic
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /**
   * Retention of the build's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

const NAME = 'AnsibleDeployStage';
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const VERSION = /^[0-9][0-9A-Za-z.+!-]{0,63}$/;
const TAG = /^[^,\s]{1,128}$/;

/**
 * A pipeline stage that runs ansible-playbook from CodeBuild against EC2 (or any SSH) hosts:
 * validated per-run parameters, an inventory file or EC2 tags, strict host keys, a per-stage lock,
 * an optional check-and-approve preview, a JUnit report and the PLAY RECAP as exported variables.
 */
export class AnsibleDeployStage extends PipelineStage {
  /** The CodeBuild project that runs ansible-playbook (every action of the stage). */
  public readonly project: codebuild.PipelineProject;
  /** The build's log group. */
  public readonly logGroup: logs.ILogGroup;
  /** The report group that receives the JUnit reports. */
  public readonly reportGroup: codebuild.ReportGroup;
  /** The SSM transport's transfer bucket. @default - none (SSH transport) */
  public readonly transferBucket?: s3.IBucket;

  private readonly preview: boolean;
  private readonly approvalTopic?: sns.ITopic;
  private readonly playbook: string;
  private readonly parametersFile?: string;
  /** The action's environment variables that carry `variableExtraVars`: ANSIBLE_STAGE_VAR_<n> -> `#{...}`. */
  private readonly variableEnv: { [name: string]: string };

  constructor(scope: Construct, id: string, props: AnsibleDeployStageProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.hours(1);
    const transport = validateProps(this, NAME, () => {
      validate(props);
      requireDurationInRange('timeout', timeout, Duration.minutes(5), Duration.hours(36));
      const bound = props.transport._bind(this);
      if (bound.kind === 'ssm' && !bound.instanceTags && !props.inventory._config.ec2) {
        invalid('instanceTags', 'be set for the SSM transport with a file inventory (ssm:StartSession is allowed on instances with these tags)', undefined);
      }
      return bound;
    });
    this.preview = props.preview ?? false;
    this.approvalTopic = props.approvalTopic;
    this.playbook = props.playbook;
    this.parametersFile = props.parametersFile;

    const stack = Stack.of(this);
    const runner = new s3assets.Asset(this, 'Runner', { path: path.join(assetPath('ansible-deploy'), 'index.js') });
    const locks = AnsibleDeployLocks.of(this);
    const lockName = props.lockName ?? this.node.addr;
    this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.reportGroup = new codebuild.ReportGroup(this, 'Reports', { type: codebuild.ReportGroupType.TEST, removalPolicy: RemovalPolicy.DESTROY });
    if (transport.kind === 'ssm') this.transferBucket = transferBucket(this);

    const inventory = props.inventory._config;
    const hostAddress = inventory.ec2?.hostAddress ?? (transport.kind === 'ssm' ? AnsibleHostAddress.instanceId() : AnsibleHostAddress.privateIp());
    const knownHosts = transport.knownHosts?._source;
    const variableExtraVars = Object.entries(props.variableExtraVars ?? {});
    this.variableEnv = Object.fromEntries(variableExtraVars.map(([, value], i) => [`ANSIBLE_STAGE_VAR_${i}`, value]));
    const runConfig = {
      playbook: props.playbook,
      inventory: inventory.file !== undefined ? { file: inventory.file } : {
        ec2: {
          regions: inventory.ec2!.regions ?? [stack.region],
          tagFilters: inventory.ec2!.tagFilters,
          groupsByTag: inventory.ec2!.groupsByTag,
          hostname: hostAddress.hostname,
        },
      },
      transport: transport.kind === 'ssh' ? {
        ssh: {
          user: transport.user,
          port: transport.port,
          knownHosts: knownHosts?.acceptAny ? { acceptAny: true } : knownHosts?.file !== undefined ? { file: knownHosts.file } : { env: 'ANSIBLE_KNOWN_HOSTS' },
        },
      } : { ssm: { bucket: this.transferBucket!.bucketName, plugin: ssmPlugin(props) } },
      limit: props.limit,
      tags: props.tags ?? [],
      skipTags: props.skipTags ?? [],
      forks: props.forks,
      verbosity: props.verbosity ?? 0,
      extraVars: props.extraVars ?? {},
      variableExtraVars: Object.fromEntries(variableExtraVars.map(([name], i) => [name, `ANSIBLE_STAGE_VAR_${i}`])),
      parametersFile: props.parametersFile,
      fileParameters: props.fileParameters ?? {},
      lock: { table: locks.table.tableName, name: lockName, ttlSeconds: timeout.toSeconds() },
    };

    const install = props.buildImage === undefined;
    this.project = new codebuild.PipelineProject(this, 'Project', {
      description: `${NAME} ${this.node.path}: ansible-playbook ${props.playbook}`.slice(0, 255),
      environment: {
        buildImage: props.buildImage ?? codebuild.LinuxBuildImage.STANDARD_7_0,
        computeType: props.computeType ?? codebuild.ComputeType.SMALL,
      },
      environmentVariables: plain({
        ANSIBLE_STAGE_CONFIG: stack.toJsonString(runConfig),
        ANSIBLE_STAGE_RUNNER_BUCKET: runner.s3BucketName,
        ANSIBLE_STAGE_RUNNER_KEY: runner.s3ObjectKey,
        ANSIBLE_STAGE_PYTHON_REQUIREMENTS: props.pythonRequirementsFile ?? 'requirements.txt',
        ANSIBLE_STAGE_COLLECTIONS_REQUIREMENTS: props.collectionsRequirementsFile ?? 'collections/requirements.yml',
        ...(install ? {
          ANSIBLE_CORE_VERSION: props.ansibleCoreVersion ?? '2.17.12',
          AMAZON_AWS_VERSION: props.amazonAwsCollectionVersion ?? '9.5.0',
          BOTO3_VERSION: props.boto3Version ?? '1.38.0',
          ...(transport.kind === 'ssm' && installsCommunityAws(props) ? { COMMUNITY_AWS_VERSION: props.communityAwsCollectionVersion ?? '9.3.0' } : {}),
        } : {}),
      }),
      buildSpec: codebuild.BuildSpec.fromObject(buildSpecObject({
        transport,
        install,
        installCommunityAws: installsCommunityAws(props),
        reportGroupArn: this.reportGroup.reportGroupArn,
        knownHostsParameter: knownHosts?.parameterName,
      })),
      timeout,
      vpc: props.vpc,
      subnetSelection: props.subnetSelection,
      securityGroups: props.securityGroups,
      logging: { cloudWatch: { logGroup: this.logGroup } },
    });
    this.grant(transport, props, runner, locks, lockName);
    if (install && props.vpc && isolatedOnly(props.vpc, props.subnetSelection)) {
      Annotations.of(this).addWarningV2('cdk-pipeline-stages:ansible-deploy-isolated-subnets',
        `${NAME} at ${this.node.path}: the build runs in isolated subnets (no route out), but the default image installs ansible-core and boto3 `
        + 'from PyPI, the collections from Ansible Galaxy and, for SSM, the session-manager-plugin from its download: the build would fail in INSTALL. '
        + 'Use subnets with a NAT (PRIVATE_WITH_EGRESS), or a `buildImage` with everything installed (then the VPC endpoints of the README suffice).');
    }
  }

  protected renderActions(options: RenderActionsOptions): codepipeline.IAction[] {
    requireParametersFileInput(this, NAME, this.parametersFile, options.input);
    const input = options.input;
    if (!input) {
      return validateProps(this, NAME, () => invalid('input', `be set: the stage reads its playbook '${this.playbook}' from it`, undefined));
    }
    if (!this.preview) return [this.buildAction(options, input, 'apply').stageAction];

    // The check's variables feed the approval and the apply: it needs a namespace even if the user gave none.
    const namespace = options.variablesNamespace ?? `${options.actionName}-${Names.uniqueId(this).slice(-8)}`.slice(-100);
    const check = this.buildAction({ ...options, variablesNamespace: namespace }, input, 'check');
    const approve = actionPart(options, 'Approve', 1);
    const approval = new actions.ManualApprovalAction({
      actionName: approve.actionName,
      runOrder: approve.runOrder,
      notificationTopic: this.approvalTopic,
      additionalInformation: `Ansible check: ${check.action.variable('ANSIBLE_SUMMARY')}`,
    });
    const apply = this.buildAction(actionPart(options, 'Apply', 2), input, 'apply', check.action.variable('ANSIBLE_HOSTS'));
    return [check.stageAction, new StageAction(approval, {}), apply.stageAction];
  }

  private buildAction(options: RenderActionsOptions, input: codepipeline.Artifact, mode: 'apply' | 'check', previewHosts?: string) {
    const action = new actions.CodeBuildAction({
      actionName: options.actionName,
      runOrder: options.runOrder,
      variablesNamespace: options.variablesNamespace,
      project: this.project,
      input,
      environmentVariables: plain({
        ANSIBLE_STAGE_MODE: mode,
        ...(previewHosts ? { ANSIBLE_STAGE_PREVIEW_HOSTS: previewHosts } : {}),
        ...this.variableEnv,
      }),
    });
    const stageAction = new StageAction(action, { acknowledge: (_role, bind) => this.acknowledgeArtifactAccess(bind.bucket) });
    return { action, stageAction };
  }

  /** The action lets the project read the pipeline's artifacts (objects named per execution) and use their key. */
  private acknowledgeArtifactAccess(bucket: s3.IBucket): void {
    const role = this.project.role!;
    acknowledgeArtifactRead(role, bucket);
    for (const action of ['kms:ReEncrypt*', 'kms:GenerateDataKey*']) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: 'aws-cdk-lib lets a CodeBuild project in a pipeline use the pipeline\'s artifact key (its own key, not the account\'s).',
      });
    }
  }

  private grant(
    transport: TransportConfig, props: AnsibleDeployStageProps, runner: s3assets.Asset, locks: AnsibleDeployLocks, lockName: string,
  ): void {
    const role = this.project.role!;
    const stack = Stack.of(this);
    transport.privateKey?.grantRead(role);
    const knownHostsParameter = transport.knownHosts?._source.parameterName;
    if (knownHostsParameter) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameters'], resources: [parameterArn(this, knownHostsParameter)] }));
    }
    // The runner, and nothing else of the assets bucket.
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      resources: [stack.formatArn({ service: 's3', region: '', account: '', resource: runner.s3BucketName, resourceName: runner.s3ObjectKey })],
    }));
    locks.grantLock(role, lockName);
    this.reportGroup.grantWrite(role);
    if (props.inventory._config.ec2) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeInstances'], resources: ['*'] }));
      acknowledgeWildcard(role, '*', 'ec2:DescribeInstances (the aws_ec2 inventory plugin) supports no resource-level permissions.');
    }
    if (transport.kind === 'ssm') this.grantSessions(role, transport, props);

    const projectName = this.project.node.defaultChild as codebuild.CfnProject;
    const logStreams = 'CodeBuild writes the build\'s log streams, named per build, in the stage\'s own log group (aws-cdk-lib also grants the default group, which stays unused).';
    acknowledgeWildcard(role, `<${stack.getLogicalId(this.logGroup.node.defaultChild as logs.CfnLogGroup)}.Arn>:*`, logStreams);
    acknowledgeWildcard(role, `arn:<AWS::Partition>:logs:${nagRegion(stack)}:${nagAccount(stack)}:log-group:/aws/codebuild/<${stack.getLogicalId(projectName)}>:*`, logStreams);
    acknowledgeWildcard(role, `arn:<AWS::Partition>:codebuild:${nagRegion(stack)}:${nagAccount(stack)}:report-group/<${stack.getLogicalId(projectName)}>-*`,
      'aws-cdk-lib lets every project create report groups named after itself; the stage reports to its own report group.');
    Validations.of(this.project).acknowledge({
      id: 'AwsSolutions-CB4',
      reason: 'The build reads and writes the pipeline\'s artifacts, encrypted with the pipeline\'s key; it produces no artifact of its own.',
    });
  }

  private grantSessions(role: iam.IRole, transport: TransportConfig, props: AnsibleDeployStageProps): void {
    const stack = Stack.of(this);
    const tags = transport.instanceTags ?? props.inventory._config.ec2!.tagFilters;
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['ssm:StartSession'],
      resources: [stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' })],
      conditions: { StringEquals: Object.fromEntries(Object.entries(tags).map(([key, values]) => [`ssm:resourceTag/${key}`, values])) },
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['ssm:StartSession'],
      resources: [stack.formatArn({ service: 'ssm', resource: 'document', resourceName: 'SSM-SessionManagerRunShell' })],
    }));
    // An assumed role's session ids are not `${aws:userid}-...`: the session's own tag names who started it.
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['ssm:TerminateSession', 'ssm:ResumeSession'],
      resources: [stack.formatArn({ service: 'ssm', resource: 'session', resourceName: '*' })],
      conditions: { StringLike: { 'ssm:resourceTag/aws:ssmmessages:session-id': ['${aws:userid}'] } },
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      resources: [this.transferBucket!.arnForObjects('*')],
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.transferBucket!.bucketArn] }));
    acknowledgeWildcard(role, `arn:<AWS::Partition>:ec2:${nagRegion(stack)}:${nagAccount(stack)}:instance/*`,
      'ssm:StartSession is allowed on any instance only under the condition that it carries the stage\'s tags.');
    acknowledgeWildcard(role, `arn:<AWS::Partition>:ssm:${nagRegion(stack)}:${nagAccount(stack)}:session/*`,
      'Sessions are named per start; the build may end or resume only the sessions its own role session started (their session-id tag).');
    acknowledgeWildcard(role, `<${stack.getLogicalId(this.transferBucket!.node.defaultChild as s3.CfnBucket)}.Arn>/*`,
      'The aws_ssm plugin writes and reads transfer files, named per task, in the stage\'s own transfer bucket.');
  }
}

/** Whether every subnet the build would run in is one of the VPC's isolated subnets. */
function isolatedOnly(vpc: ec2.IVpc, selection: ec2.SubnetSelection | undefined): boolean {
  const isolated = new Set(vpc.isolatedSubnets.map(subnet => subnet.subnetId));
  const subnets = vpc.selectSubnets(selection).subnets;
  return subnets.length > 0 && subnets.every(subnet => isolated.has(subnet.subnetId));
}

/** Plain-text CodeBuild environment variables. */
function plain(values: { [name: string]: string }): { [name: string]: codebuild.BuildEnvironmentVariable } {
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, { value }]));
}

function nagRegion(stack: Stack): string {
  return Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
}
function nagAccount(stack: Stack): string {
  return Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
}

/** The SSM plugin's transfer bucket: encrypted (SSE-S3, which the plugin is told), TLS only, objects gone after a day. */
function transferBucket(scope: Construct): s3.Bucket {
  const bucket = new s3.Bucket(scope, 'TransferBucket', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    lifecycleRules: [{ expiration: Duration.days(1), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
  });
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason: 'The transfer bucket holds the aws_ssm plugin\'s module files for at most a day; CloudTrail data events log access where needed.',
  });
  return bucket;
}

/** The major version of a pin such as `10.1.0`. */
function major(version: string): number {
  return Number.parseInt(version, 10);
}

/**
 * The SSM connection plugin of the pinned collections: amazon.aws 10 carries it as
 * `amazon.aws.aws_ssm` (community.aws 10 only redirects there); earlier it is community.aws's own.
 * On a custom image, `community.aws.aws_ssm` is the name that every community.aws version answers to.
 */
function ssmPlugin(props: AnsibleDeployStageProps): string {
  return !props.buildImage && major(props.amazonAwsCollectionVersion ?? '9.5.0') >= 10 ? 'amazon.aws.aws_ssm' : 'community.aws.aws_ssm';
}

/** community.aws is installed for the SSM plugin unless amazon.aws carries it, or when pinned explicitly. */
function installsCommunityAws(props: AnsibleDeployStageProps): boolean {
  return props.communityAwsCollectionVersion !== undefined || ssmPlugin(props) === 'community.aws.aws_ssm';
}

function validate(props: AnsibleDeployStageProps): void {
  requireNonEmptyString('playbook', props.playbook);
  requireMatch('playbook', props.playbook, /^[^-\s]/, 'be a path that does not start with - or a space');
  if (props.limit !== undefined) requireNonEmptyString('limit', props.limit);
  for (const [name, tags] of Object.entries({ tags: props.tags, skipTags: props.skipTags })) {
    if (tags && !Token.isUnresolved(tags)) tags.forEach(tag => requireMatch(name, tag, TAG, 'be tags without commas or spaces'));
  }
  requireIntegerInRange('forks', props.forks, 1, 1000);
  requireIntegerInRange('verbosity', props.verbosity, 0, 4);
  const names = [props.extraVars, props.variableExtraVars, props.fileParameters].flatMap(m => (m && !Token.isUnresolved(m) ? Object.keys(m) : []));
  for (const name of names) requireMatch('extra var name', name, VAR_NAME, 'be a variable name (a letter or _, then letters, digits and _)');
  validateParametersFileProps(props.parametersFile, props.fileParameters);
  if (props.approvalTopic && !props.preview) invalid('approvalTopic', 'be used with `preview`', props.approvalTopic.node.path);
  if (props.lockName !== undefined) requireMatch('lockName', props.lockName, /^[A-Za-z0-9_.:/-]{1,255}$/, 'be 1 to 255 characters of A-Z, a-z, 0-9, _, ., :, / and -');
  const pins = {
    ansibleCoreVersion: props.ansibleCoreVersion,
    amazonAwsCollectionVersion: props.amazonAwsCollectionVersion,
    communityAwsCollectionVersion: props.communityAwsCollectionVersion,
    boto3Version: props.boto3Version,
  };
  for (const [name, value] of Object.entries(pins)) {
    if (value === undefined) continue;
    if (props.buildImage) invalid(name, 'not be set with `buildImage` (the stage installs nothing on your image)', value);
    requireMatch(name, value, VERSION, 'be a version such as 2.17.12');
  }
  validateCollectionPins(props);
  requireNonEmptyString('pythonRequirementsFile', props.pythonRequirementsFile);
  requireNonEmptyString('collectionsRequirementsFile', props.collectionsRequirementsFile);
  if (!props.vpc) {
    if (props.subnetSelection) invalid('subnetSelection', 'be used with `vpc`', props.subnetSelection);
    if (props.securityGroups) invalid('securityGroups', 'be used with `vpc`', props.securityGroups.map(g => g.node.path));
  }
}

/** The collection pins' own requirements (amazon.aws 10 needs ansible-core 2.17; community.aws 10 needs amazon.aws 10). */
function validateCollectionPins(props: AnsibleDeployStageProps): void {
  if (props.buildImage) return;
  const core = (props.ansibleCoreVersion ?? '2.17.12').split('.').map(part => Number.parseInt(part, 10));
  const amazonAws = props.amazonAwsCollectionVersion ?? '9.5.0';
  if (major(amazonAws) >= 10 && (core[0] < 2 || (core[0] === 2 && core[1] < 17))) {
    invalid('ansibleCoreVersion', `be 2.17 or later with amazon.aws ${amazonAws} (amazon.aws 10 supports ansible-core 2.17 and later)`, props.ansibleCoreVersion ?? '2.17.12');
  }
  const communityAws = props.communityAwsCollectionVersion;
  if (communityAws !== undefined && major(communityAws) >= 10 && major(amazonAws) < 10) {
    invalid('amazonAwsCollectionVersion', `be 10 or later with community.aws ${communityAws} (community.aws 10 depends on amazon.aws 10, which carries the aws_ssm plugin)`, amazonAws);
  }
}
