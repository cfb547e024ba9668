import { ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { VmCommand } from './command';
import { acknowledgeWildcard, grantSendCommand, nagArn } from './iam';
import { runDefinition } from './state-machine';
import { VmTargets } from './targets';
import { acknowledgeInvokeOfVersions, createBundledFunction } from '../core/bundled-function';
import { createDeadLetterQueue, lambdaTargetWithDeadLetterQueue, sendFailedInvocationsTo } from '../core/event-delivery';
import { PipelineStage, RenderActionsOptions } from '../core/pipeline-stage';
import { StageInvokeAction } from '../core/stage-invoke-action';
import {
  invalid, requireDurationInRange, requireMatch, requireNonEmptyString,
} from '../core/validation';

/** The type of a value the parameters file may set. */
export enum FileParameterType {
  /** A JSON string, passed as a single value. */
  STRING = 'string',
  /** A JSON array of strings, passed as a list (e.g. `commands`). */
  STRING_LIST = 'stringList',
  /** A JSON integer, passed as its decimal text. */
  INTEGER = 'integer',
  /** A JSON boolean, passed as `true` or `false`. */
  BOOLEAN = 'boolean',
}

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
   * for an event before it checks the command itself. From 1 second to 10 minutes.
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

const MAX_RUN = Duration.hours(24);
/** How often EventBridge retries delivering an event, and Lambda retries a failed invocation, before the event goes to the dead-letter queue. */
const TIMEOUT_MARGIN = Duration.minutes(2);
const PARAMETER_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const MAX_CONCURRENCY = /^([1-9][0-9]*|[1-9][0-9]?%|100%)$/;
const MAX_ERRORS = /^([0-9]+|[0-9][0-9]?%|100%)$/;

/**
 * A pipeline stage that runs a command on existing VMs (EC2 or hybrid managed instances) through
 * SSM Run Command, and fails when the command fails.
 *
 * A Lambda action validates the per-run parameters and starts a state machine: pre-flight (targets
 * resolved and online) → SendCommand → wait for SSM's status-change event (with a polling
 * backstop) → evaluate every target → report to CodePipeline. Timeouts, state machine failures and
 * stopped pipelines cancel the command on the targets still running it.
 */
export class VmCommandStage extends PipelineStage {
  /** The state machine that runs the command. */
  public readonly stateMachine: sfn.StateMachine;
  /** The action's function: validates the parameters file and starts the state machine. */
  public readonly startFunction: lambda.Function;
  /** Resolves the targets and checks that SSM reaches them. */
  public readonly preflightFunction: lambda.Function;
  /** Sends the command. */
  public readonly sendFunction: lambda.Function;
  /** Parks the state machine until the command finishes. */
  public readonly waitFunction: lambda.Function;
  /** Resumes the state machine on SSM's command status-change events. */
  public readonly notifyFunction: lambda.Function;
  /** Reads every target's result and decides the outcome. */
  public readonly statusFunction: lambda.Function;
  /** Reports the outcome to CodePipeline; cancels the command after an error. */
  public readonly finishFunction: lambda.Function;
  /** Cancels the command when the state machine times out or fails, or the pipeline is stopped. */
  public readonly cleanupFunction: lambda.Function;
  /** The command's output. */
  public readonly logGroup: logs.ILogGroup;
  /** Links jobs, executions, commands and task tokens of the runs. */
  public readonly table: dynamodb.Table;
  /** SSM command status-change events (final statuses) of the stage's document. */
  public readonly commandEventRule: events.Rule;
  /** The state machine's timed-out, failed and aborted executions. */
  public readonly executionEventRule: events.Rule;
  /** The pipeline's abandoned or cancelled executions of this action. */
  public readonly pipelineEventRule: events.Rule;
  /** Events of the three rules that could not be delivered to, or handled by, the notify and cleanup functions. */
  public readonly deadLetterQueue: sqs.IQueue;
  /** The whole run's limit. */
  public readonly timeout: Duration;

  private readonly userParameters: { [key: string]: unknown };
  private readonly parametersFile?: string;

  constructor(scope: Construct, id: string, props: VmCommandStageProps) {
    super(scope, id);
    const command = props.command.bind(this);
    const deliveryTimeout = props.deliveryTimeout ?? Duration.minutes(10);
    const executionTimeout = props.executionTimeout ?? Duration.hours(1);
    const backstopInterval = props.backstopInterval ?? Duration.minutes(5);
    const maxConcurrency = props.maxConcurrency ?? '50';
    const maxErrors = props.maxErrors ?? '0';
    validate(props, command.workingDirectoryParameter, command.executionTimeoutParameter);
    requireDurationInRange('deliveryTimeout', deliveryTimeout, Duration.seconds(30), MAX_RUN);
    requireDurationInRange('executionTimeout', executionTimeout, Duration.seconds(1), Duration.hours(48));
    requireDurationInRange('backstopInterval', backstopInterval, Duration.seconds(1), Duration.minutes(10));
    requireMatch('maxConcurrency', maxConcurrency, MAX_CONCURRENCY, 'be a number from 1 or a percentage from 1% to 100%');
    requireMatch('maxErrors', maxErrors, MAX_ERRORS, 'be a number from 0 or a percentage from 0% to 100%');
    this.timeout = props.timeout ?? Duration.seconds(deliveryTimeout.toSeconds() + executionTimeout.toSeconds()
      + backstopInterval.toSeconds() + TIMEOUT_MARGIN.toSeconds());
    if (props.timeout) {
      requireDurationInRange('timeout', props.timeout, Duration.seconds(1), MAX_RUN);
    } else if (this.timeout.toSeconds() > MAX_RUN.toSeconds()) {
      invalid('deliveryTimeout + executionTimeout + backstopInterval + 2 minutes',
        'be at most 24 hours (CodePipeline\'s limit for a Lambda action)', this.timeout.toHumanString());
    }

    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    this.logGroup = props.logGroup ?? new logs.LogGroup(this, 'CommandLogGroup', { retention: logRetention });
    this.table = new dynamodb.Table(this, 'RunTable', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const fn = (name: string, handler: string, description: string, environment: { [key: string]: string } = {}) => {
      const f = createBundledFunction(this, name, {
        handler,
        description,
        logRetention,
        timeout: Duration.minutes(1),
        environment: { TABLE_NAME: this.table.tableName, POWERTOOLS_SERVICE_NAME: 'vm-command-stage', ...environment },
      });
      return f;
    };
    this.preflightFunction = fn('PreflightFunction', 'vm-command-preflight', 'Resolves the targets and checks that SSM reaches them');
    this.sendFunction = fn('SendFunction', 'vm-command-send', 'Sends the SSM command');
    this.waitFunction = fn('WaitFunction', 'vm-command-wait', 'Parks the run until the SSM command finishes');
    this.statusFunction = fn('StatusFunction', 'vm-command-status', 'Reads every target\'s result of the SSM command');
    this.finishFunction = fn('FinishFunction', 'vm-command-finish', 'Reports the run to CodePipeline; cancels the command after an error');

    const document = {
      documentName: command.documentName,
      documentVersion: command.documentVersion,
    };
    const staticParameters: { [name: string]: string[] } = { ...command.parameters, ...props.parameters };
    if (props.workingDirectory !== undefined) staticParameters[command.workingDirectoryParameter!] = [props.workingDirectory];
    if (command.executionTimeoutParameter) staticParameters[command.executionTimeoutParameter] = [String(executionTimeout.toSeconds())];

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(runDefinition(this, {
        preflight: this.preflightFunction,
        send: this.sendFunction,
        wait: this.waitFunction,
        status: this.statusFunction,
        finish: this.finishFunction,
      }, {
        backstopInterval,
        sendConfig: {
          ...document,
          parameters: staticParameters,
          deliveryTimeoutSeconds: deliveryTimeout.toSeconds(),
          maxConcurrency,
          maxErrors,
          logGroupName: this.logGroup.logGroupName,
          outputBucket: props.outputBucket?.bucketName,
          outputKeyPrefix: props.outputKeyPrefix,
          script: command.script,
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

    this.notifyFunction = fn('NotifyFunction', 'vm-command-notify', 'Resumes the run when SSM reports the command finished');
    this.cleanupFunction = fn('CleanupFunction', 'vm-command-cleanup', 'Cancels the command when the run times out or fails, or the pipeline is stopped');
    this.startFunction = fn('StartFunction', 'vm-command-start', 'Validates the run parameters and starts the run', {
      STATE_MACHINE_ARN: this.stateMachine.stateMachineArn,
      TARGETS: Stack.of(this).toJsonString(props.targets._toJson()),
      ...(props.parametersFile ? { PARAMETERS_FILE: props.parametersFile } : {}),
      FILE_PARAMETERS: JSON.stringify(props.fileParameters ?? {}),
      ALLOW_TARGETS_FROM_FILE: String(props.allowTargetsFromFile ?? false),
    });

    this.grant(props, command.documentArn);

    this.deadLetterQueue = props.deadLetterQueue ?? createDeadLetterQueue(this);
    const target = (f: lambda.Function, maxEventAge: Duration) => {
      sendFailedInvocationsTo(f, this.deadLetterQueue, maxEventAge);
      return lambdaTargetWithDeadLetterQueue(f, this.deadLetterQueue, maxEventAge);
    };
    this.commandEventRule = new events.Rule(this, 'CommandEventRule', {
      description: 'SSM commands of a VmCommandStage that reached a final status',
      eventPattern: {
        source: ['aws.ssm'],
        detailType: ['EC2 Command Status-change Notification'],
        detail: { 'document-name': [command.eventDocumentName], 'status': ['Success', 'Failed', 'Cancelled', 'TimedOut'] },
      },
      // The backstop polls a command whose event is late; an hour-old event has nothing left to resume.
      targets: [target(this.notifyFunction, Duration.hours(1))],
    });
    const cleanupTarget = target(this.cleanupFunction, Duration.hours(2));
    this.executionEventRule = new events.Rule(this, 'ExecutionEventRule', {
      description: 'Timed-out, failed and aborted runs of a VmCommandStage',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { status: ['TIMED_OUT', 'FAILED', 'ABORTED'], stateMachineArn: [this.stateMachine.stateMachineArn] },
      },
      targets: [cleanupTarget],
    });
    // Narrowed to the pipeline and action when the stage is added to a pipeline.
    this.pipelineEventRule = new events.Rule(this, 'PipelineEventRule', {
      description: 'Abandoned or cancelled pipeline actions of a VmCommandStage',
      eventPattern: {
        source: ['aws.codepipeline'],
        detailType: ['CodePipeline Action Execution State Change'],
        detail: { state: ['ABANDONED', 'CANCELED'] },
      },
      targets: [cleanupTarget],
    });

    this.parametersFile = props.parametersFile;
    this.userParameters = {
      pipelineExecutionId: '#{codepipeline.PipelineExecutionId}',
      variables: { ...props.variableParameters },
    };
    const rendered = JSON.stringify(this.userParameters);
    if (!Token.isUnresolved(rendered) && rendered.length > 1000) {
      invalid('variableParameters', 'fit in the action\'s 1000-character user parameters', `${rendered.length} characters`);
    }
  }

  protected renderActions(options: RenderActionsOptions): codepipeline.IAction[] {
    if (this.parametersFile && !options.input) {
      throw new Error(`\`input\` must be set: the stage reads its parameters file '${this.parametersFile}' from it`);
    }
    return [new StageInvokeAction({
      actionName: options.actionName,
      runOrder: options.runOrder,
      lambda: this.startFunction,
      inputs: options.input ? [options.input] : undefined,
      variablesNamespace: options.variablesNamespace,
      userParameters: this.userParameters,
      // Narrow the pipeline event rule to the pipeline and action the stage joins.
      onBound: (pipeline, actionName) => this.pipelineEventRule.addEventPattern({
        resources: [pipeline.pipelineArn],
        detail: { action: [actionName] },
      }),
    })];
  }


  private grant(props: VmCommandStageProps, documentArn: string): void {
    const stack = Stack.of(this);
    const table = (f: lambda.Function, ...dynamoActions: string[]) => this.table.grant(f, ...dynamoActions.map(a => `dynamodb:${a}`));
    const anyResource = (f: lambda.Function, statementActions: string[], reason: string) => {
      f.addToRolePolicy(new iam.PolicyStatement({ actions: statementActions, resources: ['*'] }));
      acknowledgeWildcard(f, '*', reason);
    };
    const targetsAtRunTime = props.allowTargetsFromFile || props.targets.resourceGroupName !== undefined;

    // Start: the action grants the CodePipeline job result calls.
    table(this.startFunction, 'PutItem', 'UpdateItem');
    this.stateMachine.grantStartExecution(this.startFunction);
    acknowledgeWildcard(this.startFunction, '*', 'CodePipeline job results (PutJobSuccessResult, PutJobFailureResult) support no resource-level permissions.');

    anyResource(this.preflightFunction, ['ssm:DescribeInstanceInformation'], 'ssm:DescribeInstanceInformation supports no resource-level permissions.');
    if (targetsAtRunTime) {
      const groups = stack.formatArn({ service: 'resource-groups', resource: 'group', resourceName: props.targets.resourceGroupName ?? '*' });
      for (const f of [this.preflightFunction, this.sendFunction]) {
        f.addToRolePolicy(new iam.PolicyStatement({ actions: ['resource-groups:ListGroupResources'], resources: [groups] }));
        if (!props.targets.resourceGroupName) {
          acknowledgeWildcard(f, nagArn(stack, 'resource-groups', true, 'group/*'), 'With allowTargetsFromFile the parameters file may name any resource group.');
        }
      }
      anyResource(this.preflightFunction, ['ssm:DescribeInstanceInformation', 'tag:GetResources'],
        'ssm:DescribeInstanceInformation and tag:GetResources (resource group members) support no resource-level permissions.');
    }
    if (props.targets.targetTags || props.allowTargetsFromFile) {
      // Resource group members are listed with their EC2 ids already; only tag targets need EC2's view.
      anyResource(this.preflightFunction, ['ec2:DescribeInstances'],
        'ec2:DescribeInstances supports no resource-level permissions; pre-flight lists the running instances carrying the target tags to fail on any that SSM does not manage.');
    }

    grantSendCommand(this.sendFunction, props.targets, documentArn, props.allowTargetsFromFile ?? false);
    table(this.sendFunction, 'UpdateItem');

    // The wait function is part of the state machine: a policy of its own avoids a dependency cycle.
    new iam.Policy(this, 'WaitFunctionTaskTokenPolicy', {
      roles: [this.waitFunction.role!],
      statements: [new iam.PolicyStatement({ actions: ['states:SendTaskSuccess'], resources: [this.stateMachine.stateMachineArn] })],
    });
    table(this.waitFunction, 'UpdateItem');

    this.notifyFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:SendTaskSuccess'], resources: [this.stateMachine.stateMachineArn] }));
    table(this.notifyFunction, 'UpdateItem');

    anyResource(this.statusFunction, ['ssm:GetCommandInvocation', 'ssm:ListCommands', 'codepipeline:PutJobSuccessResult'],
      'ssm:GetCommandInvocation, ssm:ListCommands and CodePipeline job results support no resource-level permissions.');
    table(this.statusFunction, 'GetItem', 'UpdateItem');

    for (const f of [this.finishFunction, this.cleanupFunction]) {
      anyResource(f, ['ssm:GetCommandInvocation', 'ssm:CancelCommand', 'codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'],
        'ssm:GetCommandInvocation, ssm:CancelCommand and CodePipeline job results support no resource-level permissions.');
      table(f, 'GetItem', 'UpdateItem');
    }
    const executions = stack.formatArn({
      service: 'states', resource: 'execution', arnFormat: ArnFormat.COLON_RESOURCE_NAME, resourceName: `${this.stateMachine.stateMachineName}:*`,
    });
    this.cleanupFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:StopExecution'], resources: [executions] }));
    acknowledgeWildcard(this.cleanupFunction, `${nagArn(stack, 'states', true, 'execution')}:<${stack.getLogicalId(this.stateMachine.node.defaultChild as sfn.CfnStateMachine)}.Name>:*`,
      'Executions of this stage\'s state machine are named per run; the cleanup function stops the one a stopped pipeline leaves running.');

    this.acknowledgeStateMachineRole();
  }

  private acknowledgeStateMachineRole(): void {
    for (const f of [this.preflightFunction, this.sendFunction, this.waitFunction, this.statusFunction, this.finishFunction]) {
      acknowledgeInvokeOfVersions(this.stateMachine, f, 'Step Functions invokes the stage\'s own function; CDK grants its versions and aliases too.');
    }
    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing and CloudWatch Logs delivery for Step Functions support no resource-level permissions.',
    });
  }
}

function validate(props: VmCommandStageProps, workingDirectoryParameter?: string, executionTimeoutParameter?: string): void {
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
  if (props.parametersFile === undefined) {
    if (props.fileParameters) invalid('fileParameters', 'be used with `parametersFile`', Object.keys(props.fileParameters));
    if (props.allowTargetsFromFile) invalid('allowTargetsFromFile', 'be used with `parametersFile`', true);
  } else {
    requireNonEmptyString('parametersFile', props.parametersFile);
  }
  if (props.outputKeyPrefix !== undefined && !props.outputBucket) invalid('outputKeyPrefix', 'be used with `outputBucket`', props.outputKeyPrefix);
  if (props.deadLetterQueue?.fifo) invalid('deadLetterQueue', 'be a standard queue (EventBridge cannot send to a FIFO queue)', props.deadLetterQueue.node.path);
}
