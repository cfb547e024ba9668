import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { VmCommand, VmCommandConfig } from './command';
import { grantSendCommand } from './send-command-grant';
import { COMMAND_MARKER, runDefinition } from './state-machine';
import { VmTargets } from './targets';
import { FileParameterType } from '../core/file-parameter-type';
import { PipelineStage, RenderActionsOptions } from '../core/pipeline-stage';
import { lambdaTargetWithDeadLetterQueue } from '../core/private/event-delivery';
import { requireHistoryWithinLimit, VM_COMMAND_HISTORY } from '../core/private/history-budget';
import { LongRunningJob, LongRunningJobFunctions, MAX_BACKSTOP_INTERVAL } from '../core/private/long-running-job';
import { acknowledgeInvokeOfVersions, acknowledgeWildcard, nagArn } from '../core/private/nag';
import { requireParametersFileInput, validateParametersFileProps } from '../core/private/parameters-file';
import { PIPELINE_LAMBDA_ACTION_MAX_MS } from '../core/private/quotas';
import {
  invalid, requireDurationInRange, requireMatch, requireNonEmptyString, validateProps,
} from '../core/private/validation';

/** Properties of a `VmCommandStage`: the targets, the command, and how a run is bounded and parameterized. */
export interface VmCommandStageProps {
  /** The instances to run the command on. */
  readonly targets: VmTargets;
  /** The command: shell or PowerShell lines, or an SSM Command document. */
  readonly command: VmCommand;
  /**
   * Directory the command runs in, for documents that take one (shell and PowerShell do).
   * @default - the SSM agent's default directory
   */
  readonly workingDirectory?: string;
  /**
   * How long SSM tries to deliver the command to an instance before the invocation ends as
   * `DeliveryTimedOut` (SendCommand's `TimeoutSeconds`).
   * @default Duration.minutes(10)
   */
  readonly deliveryTimeout?: Duration;
  /**
   * How long the command may run on an instance once started (the document's execution timeout
   * parameter, where it has one).
   * @default Duration.hours(1)
   */
  readonly executionTimeout?: Duration;
  /**
   * The whole run's limit (the state machine's timeout). When it passes, the command is cancelled
   * on every target still running it and the action fails.
   * @default - deliveryTimeout + executionTimeout + backstopInterval + 2 minutes
   */
  readonly timeout?: Duration;
  /**
   * How many targets run the command at once: a number (`"10"`) or a percentage (`"25%"`).
   * @default "50"
   */
  readonly maxConcurrency?: string;
  /**
   * How many targets may fail before SSM stops sending the command, and before the stage fails:
   * a number (`"2"`) or a percentage of the targets (`"10%"`, rounded down).
   * @default "0" - the stage fails when any target fails
   */
  readonly maxErrors?: string;
  /**
   * Completion is event-driven (SSM's status-change events); this is how long the stage waits
   * for an event before it checks the command itself. From 1 second to 10 minutes, and long enough
   * that the run's `timeout` holds fewer backstop cycles than Step Functions' 25,000 history events
   * allow (at least 57 seconds for a 24-hour run). A long interval makes the job renew earlier.
   * @default Duration.minutes(5)
   */
  readonly backstopInterval?: Duration;
  /**
   * Log group for the command's output.
   * @default - a new log group with `logRetention`
   */
  readonly logGroup?: logs.ILogGroup;
  /**
   * Retention of the log groups the stage creates (command output, functions, state machine).
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Bucket that also receives the command's full output. The instances' profile needs to write to it.
   * @default - output goes to CloudWatch Logs only
   */
  readonly outputBucket?: s3.IBucket;
  /**
   * Key prefix of the output in `outputBucket`.
   * @default - the bucket's root
   */
  readonly outputKeyPrefix?: string;
  /**
   * Document parameters for every run (added to those of the command). For shell and PowerShell
   * commands, parameters other than the document's own become environment variables of the script.
   * @default - none
   */
  readonly parameters?: { [name: string]: string[] };
  /**
   * Document parameters whose values contain CodePipeline variables, resolved per run,
   * e.g. `{ COMMIT_ID: '#{Source.CommitId}' }` (an environment variable of shell and PowerShell commands).
   * @default - none
   */
  readonly variableParameters?: { [name: string]: string };
  /**
   * Path, in the action's input artifact, of a JSON file that chooses parameters per run:
   * `{ "parameters": { "name": value }, "targets": { ... } }`. When set, the file must exist.
   * @default - no parameters file
   */
  readonly parametersFile?: string;
  /**
   * The parameters the file may set, with their types. Any other key, a wrong type or malformed
   * JSON fails the stage with a message naming the problem.
   * @default - the file may set no parameter
   */
  readonly fileParameters?: { [name: string]: FileParameterType };
  /**
   * Whether the parameters file may choose the targets (`instanceIds`, `tags` or `resourceGroup`).
   * The send function may then run the document on any instance of the account and region.
   * @default false
   */
  readonly allowTargetsFromFile?: boolean;
  /**
   * Where the events that resume and clean up runs go when they cannot be delivered or handled:
   * SSM command status changes, state machine timeouts and failures, stopped pipeline actions.
   * EventBridge sends what it could not deliver to the notify or cleanup function after its
   * retries; Lambda sends what those functions failed to handle after theirs. A message here may
   * mean a command left running on the VMs: alarm on the queue's visible messages.
   *
   * A standard (not FIFO) queue. The stage lets its functions send to it and, for a queue defined in
   * this app, adds the queue policy that lets EventBridge send for the stage's three rules. An
   * imported queue needs that policy already (`events.amazonaws.com`, `sqs:SendMessage`, condition
   * `aws:SourceArn` on the rules), and a KMS-encrypted queue a key policy that lets EventBridge use the key.
   * @default - a new queue: encrypted (SSE-SQS), TLS only, messages kept 14 days
   */
  readonly deadLetterQueue?: sqs.IQueue;
}

/** CodePipeline's limit for a Lambda action. */
const MAX_RUN = Duration.millis(PIPELINE_LAMBDA_ACTION_MAX_MS);
/** The part of the action's 1000-character user parameters left for the stage's own. */
const USER_PARAMETERS_BUDGET = 700;
/** How often EventBridge retries delivering an event, and Lambda retries a failed invocation, before the event goes to the dead-letter queue. */
const TIMEOUT_MARGIN = Duration.minutes(2);
const PARAMETER_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const ENVIRONMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_CONCURRENCY = /^([1-9][0-9]*|[1-9][0-9]?%|100%)$/;
const MAX_ERRORS = /^([0-9]+|[0-9][0-9]?%|100%)$/;

/**
 * A pipeline stage that runs a command on existing VMs (EC2 or hybrid managed instances) through
 * SSM Run Command, and fails when the command fails.
 *
 * A Lambda action validates the per-run parameters and starts the stage's state machine:
 * pre-flight (targets resolved and online) → SendCommand → wait for SSM's status-change event
 * (with a polling backstop) → evaluate every target → report to CodePipeline. Timeouts, state
 * machine failures and stopped pipelines cancel the command on the targets still running it.
 *
 * The stages of a stack share two functions, a run table and a dead-letter queue; each stage has
 * its own state machine, log groups and rules, and its own grants on the shared functions.
 */
export class VmCommandStage extends PipelineStage {
  /** The state machine that runs the command. */
  public readonly stateMachine: sfn.IStateMachine;
  /**
   * Runs the pipeline action and the state machine's steps; shared by the stack's VM stages.
   * Its errors and throttles are worth an alarm.
   */
  public readonly runFunction: lambda.IFunction;
  /** Resumes runs on SSM's command events and cleans up stopped runs; shared by the stack's VM stages. */
  public readonly eventFunction: lambda.IFunction;
  /** The command's output. */
  public readonly logGroup: logs.ILogGroup;
  /**
   * Events that could not be delivered to, or handled by, the shared event function: SSM command
   * status changes, state machine timeouts and failures, stopped pipeline actions. Shared by the
   * stack's VM stages.
   */
  public readonly deadLetterQueue: sqs.IQueue;
  /** The whole run's limit. */
  public readonly timeout: Duration;

  private readonly job: LongRunningJob;
  private readonly userParameters: { [key: string]: unknown };
  private readonly parametersFile?: string;

  constructor(scope: Construct, id: string, props: VmCommandStageProps) {
    super(scope, id);
    let command!: VmCommandConfig;
    const deliveryTimeout = props.deliveryTimeout ?? Duration.minutes(10);
    const executionTimeout = props.executionTimeout ?? Duration.hours(1);
    const backstopInterval = props.backstopInterval ?? Duration.minutes(5);
    const maxConcurrency = props.maxConcurrency ?? '50';
    const maxErrors = props.maxErrors ?? '0';
    validateProps(this, 'VmCommandStage', () => {
      command = props.command.bind(this);
      validate(props, command);
      requireDurationInRange('deliveryTimeout', deliveryTimeout, Duration.seconds(30), MAX_RUN);
      requireDurationInRange('executionTimeout', executionTimeout, Duration.seconds(1), Duration.hours(48));
      requireDurationInRange('backstopInterval', backstopInterval, Duration.seconds(1), MAX_BACKSTOP_INTERVAL);
      requireMatch('maxConcurrency', maxConcurrency, MAX_CONCURRENCY, 'be a number from 1 or a percentage from 1% to 100%');
      requireMatch('maxErrors', maxErrors, MAX_ERRORS, 'be a number from 0 or a percentage from 0% to 100%');
    });
    this.timeout = validateProps(this, 'VmCommandStage', () => {
      const batches = commandBatches(props.targets, maxConcurrency);
      const timeout = runTimeout(props, { deliveryTimeout, executionTimeout, backstopInterval, batches });
      requireHistoryWithinLimit(timeout, backstopInterval, VM_COMMAND_HISTORY);
      return timeout;
    });

    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const functions = LongRunningJobFunctions.of(this, {
      asset: 'vm-command',
      constructName: 'VmCommandStage',
      deadLetterQueue: props.deadLetterQueue,
      onCreate: grantSharedSsmReads,
    });
    functions.retainLogsFor(logRetention);
    this.runFunction = functions.runFunction;
    this.eventFunction = functions.eventFunction;
    this.deadLetterQueue = functions.deadLetterQueue;
    this.logGroup = props.logGroup ?? new logs.LogGroup(this, 'CommandLogGroup', { retention: logRetention });

    const staticParameters: { [name: string]: string[] } = { ...command.parameters, ...props.parameters };
    if (props.workingDirectory !== undefined) staticParameters[command.workingDirectoryParameter!] = [props.workingDirectory];
    if (command.executionTimeoutParameter) staticParameters[command.executionTimeoutParameter] = [String(executionTimeout.toSeconds())];

    const stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(runDefinition(this, functions.runFunction, {
        backstopInterval,
        targets: props.targets._toJson(),
        sendConfig: {
          documentName: command.documentName,
          documentVersion: command.documentVersion,
          parameters: staticParameters,
          deliveryTimeoutSeconds: deliveryTimeout.toSeconds(),
          maxConcurrency,
          maxErrors,
          logGroupName: this.logGroup.logGroupName,
          outputBucket: props.outputBucket?.bucketName,
          outputKeyPrefix: props.outputKeyPrefix,
          script: command.script,
          marker: COMMAND_MARKER,
        },
        statusConfig: { maxErrors, logGroupName: this.logGroup.logGroupName },
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
    this.job = new LongRunningJob(this, 'Job', { functions, stateMachine, constructName: 'VmCommandStage', backstopInterval });
    this.grant(props, functions, command);
    watchCommands(functions, command);

    this.parametersFile = props.parametersFile;
    this.userParameters = {
      variables: { ...props.variableParameters },
      ...(props.parametersFile ? {
        parametersFile: props.parametersFile,
        fileParameters: { ...props.fileParameters },
        allowTargetsFromFile: props.allowTargetsFromFile ?? false,
      } : {}),
    };
    const rendered = JSON.stringify(this.userParameters);
    // The state machine ARN, the pipeline execution id and the renewal age are added to these, about 280 characters.
    if (!Token.isUnresolved(rendered) && rendered.length > USER_PARAMETERS_BUDGET) {
      validateProps(this, 'VmCommandStage', () => invalid('variableParameters, parametersFile and fileParameters',
        `fit in the action's 1000-character user parameters (at most ${USER_PARAMETERS_BUDGET} characters of them)`, `${rendered.length} characters`));
    }
  }

  protected renderActions(options: RenderActionsOptions): codepipeline.IAction[] {
    requireParametersFileInput(this, 'VmCommandStage', this.parametersFile, options.input);
    return [this.job.action({ ...options, userParameters: this.userParameters })];
  }

  private grant(props: VmCommandStageProps, functions: LongRunningJobFunctions, command: VmCommandConfig): void {
    const stack = Stack.of(this);
    const run = functions.runFunction;
    const targetsAtRunTime = props.allowTargetsFromFile || props.targets.resourceGroupName !== undefined;
    if (targetsAtRunTime) {
      const groups = stack.formatArn({ service: 'resource-groups', resource: 'group', resourceName: props.targets.resourceGroupName ?? '*' });
      run.addToRolePolicy(new iam.PolicyStatement({ actions: ['resource-groups:ListGroupResources'], resources: [groups] }));
      if (!props.targets.resourceGroupName) {
        acknowledgeWildcard(run, nagArn(stack, 'resource-groups', true, 'group/*'), 'With allowTargetsFromFile the parameters file may name any resource group.');
      }
      functions.grantAnyResource(run, ['tag:GetResources'], 'tag:GetResources (resource group members) supports no resource-level permissions.');
    }
    if (props.targets.targetTags || props.allowTargetsFromFile) {
      // Resource group members are listed with their EC2 ids already; only tag targets need EC2's view.
      functions.grantAnyResource(run, ['ec2:DescribeInstances'],
        'ec2:DescribeInstances supports no resource-level permissions; pre-flight lists the running instances carrying the target tags to fail on any that SSM does not manage.');
    }
    grantSendCommand(run, props.targets, command.documentArn, props.allowTargetsFromFile ?? false, props.outputBucket?.bucketArn);
    functions.eventFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:SendTaskSuccess'], resources: [this.stateMachine.stateMachineArn] }));

    acknowledgeInvokeOfVersions(this.stateMachine, run, 'Step Functions invokes the stage\'s own function; CDK grants its versions and aliases too.');
    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing and CloudWatch Logs delivery for Step Functions support no resource-level permissions.',
    });
  }
}

/** The SSM reads and cancels every VM run needs, granted once per stack. */
function grantSharedSsmReads(functions: LongRunningJobFunctions): void {
  functions.grantAnyResource(functions.runFunction, ['ssm:DescribeInstanceInformation', 'ssm:GetCommandInvocation', 'ssm:ListCommands', 'ssm:CancelCommand'],
    'ssm:DescribeInstanceInformation, ssm:GetCommandInvocation, ssm:ListCommands and ssm:CancelCommand support no resource-level permissions.');
  functions.grantAnyResource(functions.eventFunction, ['ssm:GetCommandInvocation', 'ssm:CancelCommand'],
    'ssm:GetCommandInvocation and ssm:CancelCommand support no resource-level permissions.');
}

/**
 * Routes SSM's final status events of the library's own commands to the shared event function,
 * with one rule per stack: scripts by their marker line, custom documents by name.
 */
function watchCommands(functions: LongRunningJobFunctions, command: VmCommandConfig): void {
  const byScriptMarker = command.script !== undefined;
  const id = byScriptMarker ? 'ScriptCommandRule' : 'DocumentCommandRule';
  const existing = functions.node.tryFindChild(id) as events.Rule | undefined;
  const detail = byScriptMarker
    ? { parameters: { commands: [{ prefix: COMMAND_MARKER }] } }
    : { 'document-name': [command.eventDocumentName] };
  if (existing) {
    existing.addEventPattern({ detail });
    return;
  }
  new events.Rule(functions, id, {
    description: byScriptMarker
      ? 'SSM commands of VmCommandStages (scripts starting with the stages\' marker line) that reached a final status'
      : 'SSM commands of the custom documents of VmCommandStages that reached a final status',
    eventPattern: {
      source: ['aws.ssm'],
      detailType: ['EC2 Command Status-change Notification'],
      detail: { ...detail, status: ['Success', 'Failed', 'Cancelled', 'TimedOut'] },
    },
    // The backstop polls a command whose event is late; an hour-old event has nothing left to resume.
    targets: [lambdaTargetWithDeadLetterQueue(functions.eventFunction, functions.deadLetterQueue, Duration.hours(1))],
  });
}

/**
 * How many batches the targets run in: `maxConcurrency` targets at a time. Known for instance-id
 * targets and percentages; tag and resource-group targets with a number run as one batch here,
 * since their size is only known at run time (set `timeout` for larger fleets).
 */
function commandBatches(targets: VmTargets, maxConcurrency: string): number {
  if (Token.isUnresolved(maxConcurrency)) return 1;
  if (maxConcurrency.endsWith('%')) return Math.ceil(100 / Number(maxConcurrency.slice(0, -1)));
  const ids = targets.targetInstanceIds;
  return ids && !Token.isUnresolved(ids) ? Math.ceil(ids.length / Number(maxConcurrency)) : 1;
}

/**
 * The run's limit: the given `timeout`, which must leave time for delivery and every batch's
 * execution, or their sum plus the backstop interval and a margin. Token durations have no value
 * to add up, so they need an explicit `timeout`.
 */
function runTimeout(props: VmCommandStageProps, parts: {
  deliveryTimeout: Duration; executionTimeout: Duration; backstopInterval: Duration; batches: number;
}): Duration {
  const { deliveryTimeout, executionTimeout, backstopInterval, batches } = parts;
  const tokens = Object.entries({ deliveryTimeout, executionTimeout, backstopInterval }).filter(([, d]) => d.isUnresolved()).map(([name]) => name);
  const needed = tokens.length ? 0 : deliveryTimeout.toSeconds() + batches * executionTimeout.toSeconds();
  const neededText = `deliveryTimeout + ${batches > 1 ? `${batches} batches of ` : ''}executionTimeout`;
  if (props.timeout) {
    requireDurationInRange('timeout', props.timeout, Duration.seconds(1), MAX_RUN);
    if (!props.timeout.isUnresolved() && props.timeout.toSeconds() < needed) {
      invalid('timeout', `be at least ${neededText} (${Duration.seconds(needed).toHumanString()})`, props.timeout.toHumanString());
    }
    return props.timeout;
  }
  if (tokens.length) invalid('timeout', `be set when ${tokens.map(t => `\`${t}\``).join(', ')} is a token (the run's limit adds up their values)`, undefined);
  const derived = Duration.seconds(needed + backstopInterval.toSeconds() + TIMEOUT_MARGIN.toSeconds());
  if (derived.toSeconds() > MAX_RUN.toSeconds()) {
    invalid(`${neededText} + backstopInterval + 2 minutes`, 'be at most 24 hours (CodePipeline\'s limit for a Lambda action); set a shorter `executionTimeout`, a larger `maxConcurrency` or `timeout`', derived.toHumanString());
  }
  return derived;
}

function validate(props: VmCommandStageProps, command: VmCommandConfig): void {
  const { workingDirectoryParameter, executionTimeoutParameter } = command;
  if (props.workingDirectory !== undefined) {
    requireNonEmptyString('workingDirectory', props.workingDirectory);
    if (!workingDirectoryParameter) invalid('workingDirectory', 'be used with a document that takes one (set `workingDirectoryParameter`)', props.workingDirectory);
  }
  if (props.executionTimeout && !executionTimeoutParameter) {
    invalid('executionTimeout', 'be used with a document that takes one (set `executionTimeoutParameter`)', props.executionTimeout.toHumanString());
  }
  const names = [props.parameters, props.variableParameters, props.fileParameters].flatMap(m => Object.keys(m ?? {}));
  for (const name of names) {
    requireMatch('parameter name', name, PARAMETER_NAME, 'be 1 to 128 characters of A-Z, a-z, 0-9, _, . and -');
  }
  if (command.script) {
    // A shell or PowerShell command takes only its own parameters: the others become environment variables of the script.
    const own = new Set([...Object.keys(command.parameters), workingDirectoryParameter, executionTimeoutParameter]);
    for (const name of names.filter(n => !own.has(n))) {
      requireMatch('parameter name', name, ENVIRONMENT_NAME,
        'be an environment variable name for a shell or PowerShell command (a letter or _, then letters, digits and _)');
    }
  }
  validateParametersFileProps(props.parametersFile, props.fileParameters);
  if (props.parametersFile === undefined && props.allowTargetsFromFile) invalid('allowTargetsFromFile', 'be used with `parametersFile`', true);
  if (props.outputKeyPrefix !== undefined && !props.outputBucket) invalid('outputKeyPrefix', 'be used with `outputBucket`', props.outputKeyPrefix);
  if (props.deadLetterQueue?.fifo) invalid('deadLetterQueue', 'be a standard queue (EventBridge cannot send to a FIFO queue)', props.deadLetterQueue.node.path);
}
