import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { AssetName, HandlerName } from './assets';
import { createBundledFunction } from './bundled-function';
import { createDeadLetterQueue, lambdaTargetWithDeadLetterQueue, sendFailedInvocationsTo } from './event-delivery';
import { acknowledgeWildcard, nagArn } from './nag';
import { PIPELINE_LAMBDA_REPLY_LIMIT_MS } from './quotas';
import { lambdaStageAction } from './stage-action';
import { invalid } from './validation';

/*
 * The machinery of a pipeline action that runs longer than a Lambda invocation: a shared function
 * starts the stage's state machine, which reports the job's result (renewing the job before
 * CodePipeline's reply limit); a shared event function cleans up once when the execution times out,
 * fails or is aborted, or when the pipeline stops the action. lambda-src/core/job-*.ts is its
 * run-time half.
 *
 * A construct's stages in one stack share one `LongRunningJobFunctions` (functions, run table and
 * dead-letter queue); each stage adds a `LongRunningJob` with its state machine, its two rules and
 * its grants.
 */

/** The assets whose `run` handler starts jobs and whose `event` handler takes the job events. */
export type JobAsset = { [A in AssetName]: 'run' | 'event' extends HandlerName<A> ? A : never }[AssetName];

/** How long an event that could not be handled stays worth delivering. */
const CLEANUP_EVENT_AGE = Duration.hours(2);

/** The longest backstop interval a stage accepts: a token interval counts as this. */
export const MAX_BACKSTOP_INTERVAL = Duration.minutes(10);
/** A run renews its job at most this old (one renewal costs an invocation and a CodePipeline round trip). */
const MAX_RENEWAL_AGE = Duration.minutes(9);
/**
 * What a renewal may come later than one backstop interval after the last check: a renewed job
 * reaches the run function a little after CodePipeline made it (its 20 minutes run from then), and
 * the poll that renews is retried for about a minute when throttled or unanswered.
 */
export const RENEWAL_SLACK = Duration.minutes(5);

/**
 * How old a run's job may grow before the run renews it. The run checks at each backstop poll, so a
 * job just short of this age at one poll is renewed at the next, a backstop interval later: the
 * age plus the interval plus the slack stays within CodePipeline's 20-minute reply limit.
 */
export function renewalAge(backstopInterval: Duration): Duration {
  const backstop = backstopInterval.isUnresolved() ? MAX_BACKSTOP_INTERVAL : backstopInterval;
  const latest = PIPELINE_LAMBDA_REPLY_LIMIT_MS / 1000 - backstop.toSeconds() - RENEWAL_SLACK.toSeconds();
  return Duration.seconds(Math.min(MAX_RENEWAL_AGE.toSeconds(), latest));
}

/** The construct whose shared functions these are. */
export interface LongRunningJobFunctionsProps {
  readonly asset: JobAsset;
  /** Names the construct in the functions' descriptions and logs, e.g. `VmCommandStage`. */
  readonly constructName: string;
  /** @default - a new encrypted queue */
  readonly deadLetterQueue?: sqs.IQueue;
  /** Adds the construct's own shared grants and resources, once per stack. */
  readonly onCreate?: (functions: LongRunningJobFunctions) => void;
}

/** The per-stack part: the run table, the dead-letter queue and the two shared functions. */
export class LongRunningJobFunctions extends Construct {
  /** The construct's shared functions in the stack, created by the first stage. */
  public static of(scope: Construct, props: LongRunningJobFunctionsProps): LongRunningJobFunctions {
    const stack = Stack.of(scope);
    const id = `${props.constructName}Shared`;
    const existing = stack.node.tryFindChild(id) as LongRunningJobFunctions | undefined;
    if (!existing) {
      const created = new LongRunningJobFunctions(stack, id, props);
      props.onCreate?.(created);
      return created;
    }
    if (props.deadLetterQueue && props.deadLetterQueue !== existing.deadLetterQueue) {
      invalid('deadLetterQueue', `be the same for every ${props.constructName} of stack ${stack.stackName} (they share their functions)`, props.deadLetterQueue.node.path);
    }
    return existing;
  }

  /** Runs the pipeline action and the state machines' steps. */
  public readonly runFunction: lambda.Function;
  /** Takes the events: stopped executions and pipeline actions, and the construct's own. */
  public readonly eventFunction: lambda.Function;
  public readonly table: dynamodb.Table;
  public readonly deadLetterQueue: sqs.IQueue;
  /**
   * Grants of the run function that name a state machine. A policy of its own, because the state
   * machines invoke the run function: in its default policy they would make a dependency cycle.
   */
  public readonly runStateMachinePolicy: iam.Policy;
  private readonly logGroups: logs.LogGroup[] = [];

  private constructor(scope: Construct, id: string, props: LongRunningJobFunctionsProps) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'RunTable', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.deadLetterQueue = props.deadLetterQueue ?? createDeadLetterQueue(this);

    const fn = (fnId: string, handler: 'run' | 'event', description: string) => {
      const f = createBundledFunction(this, fnId, {
        asset: props.asset,
        handler,
        description: `${props.constructName}: ${description}`,
        timeout: Duration.minutes(1),
        environment: { TABLE_NAME: this.table.tableName, POWERTOOLS_SERVICE_NAME: props.constructName },
      });
      this.logGroups.push(this.node.findChild(`${fnId}LogGroup`) as logs.LogGroup);
      return f;
    };
    this.runFunction = fn('RunFunction', 'run', 'starts runs of the stages\' state machines and runs their steps');
    this.eventFunction = fn('EventFunction', 'event', 'resumes and cleans up runs on events');
    sendFailedInvocationsTo(this.eventFunction, this.deadLetterQueue, CLEANUP_EVENT_AGE);
    this.runStateMachinePolicy = new iam.Policy(this, 'RunFunctionStateMachinePolicy', { roles: [this.runFunction.role!] });

    this.table.grant(this.runFunction, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    this.table.grant(this.eventFunction, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    this.grantToBoth(['codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'],
      'CodePipeline job results (PutJobSuccessResult, PutJobFailureResult) support no resource-level permissions.');
  }

  /** Lets both functions call APIs that support no resource-level permissions. */
  public grantToBoth(actions: string[], reason: string): void {
    for (const f of [this.runFunction, this.eventFunction]) this.grantAnyResource(f, actions, reason);
  }

  /** Lets a function call APIs that support no resource-level permissions, acknowledged with the reason. */
  public grantAnyResource(f: lambda.Function, actions: string[], reason: string): void {
    f.addToRolePolicy(new iam.PolicyStatement({ actions, resources: ['*'] }));
    acknowledgeWildcard(f, '*', reason);
  }

  /** Keeps the shared functions' logs at least as long as `retention` (the longest any stage asks for). */
  public retainLogsFor(retention: logs.RetentionDays): void {
    for (const group of this.logGroups) {
      const cfn = group.node.defaultChild as logs.CfnLogGroup;
      const current = cfn.retentionInDays;
      if (current === undefined) continue;
      cfn.retentionInDays = retention === logs.RetentionDays.INFINITE ? undefined : Math.max(current as number, retention);
    }
  }
}

/** A stage's state machine and the shared functions that start and clean up its runs. */
export interface LongRunningJobProps {
  readonly functions: LongRunningJobFunctions;
  readonly stateMachine: sfn.StateMachine;
  /** Names the construct in messages and rule descriptions. */
  readonly constructName: string;
  /** How long the run waits for an event before it polls (and checks whether its job is due for renewal). */
  readonly backstopInterval: Duration;
}

/** The per-stage part: grants on the stage's state machine, and its two cleanup rules. */
export class LongRunningJob extends Construct {
  /** The state machine's timed-out, failed and aborted executions. */
  public readonly executionEventRule: events.Rule;
  /** The pipeline's abandoned or cancelled executions of the stage's action; created when the stage joins a pipeline. */
  public pipelineEventRule?: events.Rule;

  constructor(scope: Construct, id: string, private readonly props: LongRunningJobProps) {
    super(scope, id);
    const { functions, stateMachine } = props;
    const stack = Stack.of(this);
    functions.runStateMachinePolicy.addStatements(new iam.PolicyStatement({
      actions: ['states:StartExecution', 'states:SendTaskSuccess'],
      resources: [stateMachine.stateMachineArn],
    }));
    const executions = stack.formatArn({
      service: 'states', resource: 'execution', arnFormat: ArnFormat.COLON_RESOURCE_NAME, resourceName: `${stateMachine.stateMachineName}:*`,
    });
    functions.eventFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:StopExecution'], resources: [executions] }));
    acknowledgeWildcard(functions.eventFunction,
      `${nagArn(stack, 'states', true, 'execution')}:<${stack.getLogicalId(stateMachine.node.defaultChild as sfn.CfnStateMachine)}.Name>:*`,
      'Executions are named per run; the event function stops the one a stopped pipeline action leaves running.');

    this.executionEventRule = new events.Rule(this, 'ExecutionEventRule', {
      description: `Timed-out, failed and aborted runs of a ${props.constructName}`,
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { status: ['TIMED_OUT', 'FAILED', 'ABORTED'], stateMachineArn: [stateMachine.stateMachineArn] },
      },
      targets: [lambdaTargetWithDeadLetterQueue(functions.eventFunction, functions.deadLetterQueue, CLEANUP_EVENT_AGE)],
    });
    this.node.addValidation({
      validate: () => this.pipelineEventRule ? [] : [
        `${props.constructName} at ${scope.node.path} was never placed in a pipeline: use addToPipeline, addToStage or PipelineStageStep`,
      ],
    });
  }

  /**
   * The pipeline action that starts a run. `userParameters` are the construct's own; the state
   * machine and the pipeline execution are added.
   */
  public action(options: {
    readonly actionName: string;
    readonly runOrder: number;
    readonly input?: codepipeline.Artifact;
    readonly variablesNamespace?: string;
    readonly userParameters: { [key: string]: unknown };
  }): codepipeline.IAction {
    return lambdaStageAction({
      actionName: options.actionName,
      runOrder: options.runOrder,
      lambda: this.props.functions.runFunction,
      inputs: options.input ? [options.input] : undefined,
      variablesNamespace: options.variablesNamespace,
      userParameters: {
        ...options.userParameters,
        stateMachineArn: this.props.stateMachine.stateMachineArn,
        pipelineExecutionId: '#{codepipeline.PipelineExecutionId}',
        renewAfterSeconds: renewalAge(this.props.backstopInterval).toSeconds(),
      },
    }, (pipeline, actionName) => this.watchPipeline(pipeline, actionName));
  }

  /** Cleans up when this pipeline abandons or cancels the action. */
  private watchPipeline(pipeline: codepipeline.IPipeline, actionName: string): void {
    if (Stack.of(pipeline) !== Stack.of(this)) {
      throw new Error(`${this.props.constructName} at ${this.node.scope!.node.path} must be in the stack of its pipeline `
        + `(${Stack.of(pipeline).node.path}), got: ${Stack.of(this).node.path}`);
    }
    const pattern = { resources: [pipeline.pipelineArn], detail: { action: [actionName] } };
    if (this.pipelineEventRule) {
      this.pipelineEventRule.addEventPattern(pattern);
      return;
    }
    const { functions } = this.props;
    this.pipelineEventRule = new events.Rule(this, 'PipelineEventRule', {
      description: `Abandoned or cancelled pipeline actions of a ${this.props.constructName}`,
      eventPattern: {
        source: ['aws.codepipeline'],
        detailType: ['CodePipeline Action Execution State Change'],
        detail: { state: ['ABANDONED', 'CANCELED'] },
      },
      targets: [lambdaTargetWithDeadLetterQueue(functions.eventFunction, functions.deadLetterQueue, CLEANUP_EVENT_AGE,
        // The event function finds the run by the pipeline execution and the stage's state machine.
        events.RuleTargetInput.fromObject({
          source: 'aws.codepipeline',
          stateMachineArn: this.props.stateMachine.stateMachineArn,
          detail: events.EventField.fromPath('$.detail'),
        }))],
    });
    this.pipelineEventRule.addEventPattern(pattern);
  }
}
