import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FanoutTarget } from './fanout-target';
import { compileBranches } from './private/event-pattern';
import { createBundledFunction } from '../core/private/bundled-function';
import {
  invalid, requireDurationInRange, requireExactlyOne, requireIntegerInRange, requireNonEmptyArray, requireNonEmptyString, validateProps,
} from '../core/private/validation';

/** Properties of a `BranchBuildFanout`. */
export interface BranchBuildFanoutProps {
  /**
   * The repository whose branch pushes are built. Give this or `repositories`.
   * @default - `repositories`
   */
  readonly repository?: codecommit.IRepository;
  /**
   * The repositories whose branch pushes are built (one target for all). Give this or `repository`.
   * The repositories must be in this stack's account and region (their events arrive there).
   * @default - `repository`
   */
  readonly repositories?: codecommit.IRepository[];
  /** What each push starts: `FanoutTarget.codeBuild(project)` or `FanoutTarget.pipeline(pipeline, {...})`. */
  readonly target: FanoutTarget;
  /**
   * The branches to build: globs (`*` any characters, `/` included; `?` one character; `[...]` a set),
   * includes such as `feature/*` and excludes such as `!main`. A branch is built when it matches an
   * include (or there is no include) and no exclude. Most globs become the rule's event pattern; `?`,
   * `[...]` and several excludes that are not all exact names are also checked by the intake
   * function (`branchesFilteredInCode`).
   * @default ['*'] every branch
   */
  readonly branches?: string[];
  /**
   * Stop a branch's running build when a newer commit of that branch is dispatched.
   * FanoutTarget.codeBuild only (a pipeline's execution mode decides what supersedes).
   * @default false
   */
  readonly supersede?: boolean;
  /**
   * Branches (globs) whose builds are never stopped, neither superseded nor on deletion.
   * @default ['main', 'master']
   */
  readonly protectedBranches?: string[];
  /**
   * Stop a branch's running build when the branch is deleted. FanoutTarget.codeBuild only.
   * @default false
   */
  readonly stopOnBranchDeletion?: boolean;
  /**
   * Compare each matching branch head with the ledger this often, and dispatch the heads no event
   * brought (CodeCommit delivers its events on a best-effort basis).
   * @default - no sweep
   */
  readonly sweepInterval?: Duration;
  /**
   * How many receives a message that can never succeed (malformed, target gone, access denied) gets
   * before the function moves it to the dead-letter queue. Throttled and failed-for-now receives do
   * not move a message: it waits and comes back.
   * @default 3
   */
  readonly maxReceiveCount?: number;
  /**
   * The first wait before a throttled or failed dispatch is tried again; it doubles with each
   * receive of the message, up to 4 minutes.
   * @default Duration.seconds(10)
   */
  readonly retryBackoff?: Duration;
  /**
   * At most this many dispatch functions run at once (2 to 1000). Each branch runs one at a time.
   * @default - one per branch with pushes waiting, up to the account's Lambda concurrency
   */
  readonly maxConcurrency?: number;
  /**
   * Retention of the functions' logs.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Lambda's limit for a function invoked by SQS is its timeout; the queue's visibility is six times it. */
const FUNCTION_TIMEOUT = Duration.seconds(30);
const VISIBILITY_TIMEOUT = Duration.seconds(FUNCTION_TIMEOUT.toSeconds() * 6);
/**
 * SQS's highest redrive count: a last resort only. The functions move messages that can never
 * succeed to the dead-letter queue themselves, and keep throttled ones in the queue.
 */
const REDRIVE_RECEIVES = 1000;
const INTAKE_GROUP = 'codecommit';

/**
 * Builds every branch of CodeCommit repositories on push, in order per branch, with no push lost or
 * built twice: EventBridge → intake FIFO queue → intake function → dispatch FIFO queue (one message
 * group per repository and branch) → dispatch function → StartBuild or StartPipelineExecution at the
 * pushed commit, recorded in a ledger. Not a pipeline stage.
 */
export class BranchBuildFanout extends Construct {
  /** The rule on the repositories' branch events. */
  public readonly rule: events.Rule;
  /** The FIFO queue the rule delivers to (one message group). */
  public readonly intakeQueue: sqs.IQueue;
  /** The FIFO queue of pushes to dispatch, one message group per repository and branch. */
  public readonly queue: sqs.IQueue;
  /** The FIFO queue of messages that can never succeed. */
  public readonly deadLetterQueue: sqs.IQueue;
  /** In alarm while the dead-letter queue holds a message (add actions to it). */
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  /** Checks the branch and forwards a push to the dispatch queue. */
  public readonly intakeFunction: lambda.IFunction;
  /** Starts the target for each push. */
  public readonly dispatchFunction: lambda.IFunction;
  /** Dispatches the branch heads no event brought (with `sweepInterval` only). */
  public readonly sweepFunction?: lambda.IFunction;
  /** One item per dispatched (repository, branch, commit), and each branch's latest build. */
  public readonly ledger: dynamodb.ITable;
  /** The globs of `branches` that the intake function applies because the event pattern cannot. */
  public readonly branchesFilteredInCode: string[];

  constructor(scope: Construct, id: string, props: BranchBuildFanoutProps) {
    super(scope, id);
    const settings = validateProps(this, 'BranchBuildFanout', () => validate(props));
    const { repositories, branches } = settings;
    this.branchesFilteredInCode = settings.compiled.filteredInCode;

    const deadLetterQueue = this.queueOf('DeadLetterQueue', {});
    Validations.of(deadLetterQueue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is the dead-letter queue of the fanout\'s queues.' });
    this.deadLetterQueue = deadLetterQueue;
    const redrive = { queue: deadLetterQueue, maxReceiveCount: REDRIVE_RECEIVES };
    this.intakeQueue = this.queueOf('IntakeQueue', { contentBasedDeduplication: true, visibilityTimeout: VISIBILITY_TIMEOUT, deadLetterQueue: redrive });
    this.queue = this.queueOf('Queue', {
      visibilityTimeout: VISIBILITY_TIMEOUT,
      deadLetterQueue: redrive,
      // Branches are independent: dedupe and throughput per message group.
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
    });

    this.deadLetterAlarm = deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' })
      .createAlarm(this, 'DeadLetterAlarm', {
        alarmDescription: `Pushes of ${this.node.path} that could not be dispatched are in its dead-letter queue`,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });

    const ledger = new dynamodb.Table(this, 'Ledger', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // The ledger is what makes a redelivered or swept push a duplicate: it outlives the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.ledger = ledger;

    const fn = (fnId: string, handler: 'intake' | 'dispatch' | 'sweep', description: string, timeout = FUNCTION_TIMEOUT) => createBundledFunction(this, fnId, {
      asset: 'branch-build-fanout',
      handler,
      description: `${description} (${this.node.path})`,
      timeout,
      logRetention: props.logRetention,
      environment: { POWERTOOLS_SERVICE_NAME: 'BranchBuildFanout' },
    });
    const intake = fn('IntakeFunction', 'intake', 'Checks CodeCommit branch events and queues them per branch');
    const dispatch = fn('DispatchFunction', 'dispatch', 'Starts a build for each queued branch push');
    this.intakeFunction = intake;
    this.dispatchFunction = dispatch;
    const target = validateProps(this, 'BranchBuildFanout', () => props.target._bind(this, dispatch, repositories));

    const config = {
      repositories: repositories.map(r => r.repositoryName),
      branches,
      protectedBranches: props.protectedBranches ?? ['main', 'master'],
      supersede: props.supersede ?? false,
      stopOnBranchDeletion: props.stopOnBranchDeletion ?? false,
      target: target.config,
      ledgerTable: ledger.tableName,
      intakeQueueUrl: this.intakeQueue.queueUrl,
      queueUrl: this.queue.queueUrl,
      deadLetterQueueUrl: deadLetterQueue.queueUrl,
      maxReceiveCount: props.maxReceiveCount ?? 3,
      retryBackoffSeconds: (props.retryBackoff ?? Duration.seconds(10)).toSeconds(),
    };
    const configJson = Stack.of(this).toJsonString(config);

    intake.addEnvironment('FANOUT_CONFIG', configJson);
    intake.addEventSource(new sources.SqsEventSource(this.intakeQueue, { batchSize: 10, reportBatchItemFailures: true }));
    this.queue.grantSendMessages(intake);
    deadLetterQueue.grantSendMessages(intake);

    dispatch.addEnvironment('FANOUT_CONFIG', configJson);
    dispatch.addEventSource(new sources.SqsEventSource(this.queue, {
      batchSize: 10, reportBatchItemFailures: true, maxConcurrency: props.maxConcurrency,
    }));
    ledger.grant(dispatch, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    deadLetterQueue.grantSendMessages(dispatch);

    this.rule = new events.Rule(this, 'Rule', {
      description: `Branch pushes built by ${this.node.path}`,
      eventPattern: {
        source: ['aws.codecommit'],
        detailType: ['CodeCommit Repository State Change'],
        resources: repositories.map(r => r.repositoryArn),
        detail: {
          event: ['referenceCreated', 'referenceUpdated', ...(props.stopOnBranchDeletion ? ['referenceDeleted'] : [])],
          referenceType: ['branch'],
          ...settings.compiled.detail,
        },
      },
      targets: [new targets.SqsQueue(this.intakeQueue, { messageGroupId: INTAKE_GROUP })],
    });

    if (props.sweepInterval) {
      const sweep = fn('SweepFunction', 'sweep', 'Dispatches the branch heads no event brought', Duration.minutes(2));
      sweep.addEnvironment('FANOUT_CONFIG', configJson);
      sweep.addToRolePolicy(new iam.PolicyStatement({
        actions: ['codecommit:ListBranches', 'codecommit:GetBranch', 'codecommit:GetCommit'],
        resources: repositories.map(r => r.repositoryArn),
      }));
      ledger.grant(sweep, 'dynamodb:GetItem');
      this.queue.grantSendMessages(sweep);
      new events.Rule(this, 'SweepSchedule', {
        description: `Sweep of the branch heads of ${this.node.path}`,
        schedule: events.Schedule.rate(props.sweepInterval),
        targets: [new targets.LambdaFunction(sweep, { retryAttempts: 2 })],
      });
      this.sweepFunction = sweep;
    }
  }

  private queueOf(id: string, props: sqs.QueueProps): sqs.Queue {
    return new sqs.Queue(this, id, {
      ...props,
      fifo: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
  }
}

function validate(props: BranchBuildFanoutProps) {
  requireExactlyOne(['repository', 'repositories'], [props.repository, props.repositories]);
  requireNonEmptyArray('repositories', props.repositories);
  const repositories = props.repositories ?? [props.repository!];
  const branches = props.branches ?? ['*'];
  const compiled = compileBranches(branches);
  (props.protectedBranches ?? []).forEach((glob, i) => requireNonEmptyString(`protectedBranches[${i}]`, glob));
  requireIntegerInRange('maxReceiveCount', props.maxReceiveCount, 1, 100);
  requireIntegerInRange('maxConcurrency', props.maxConcurrency, 2, 1000);
  requireDurationInRange('retryBackoff', props.retryBackoff, Duration.seconds(0), Duration.minutes(4));
  requireDurationInRange('sweepInterval', props.sweepInterval, Duration.minutes(1), Duration.days(1));
  const canStop = props.target._canStop;
  if (props.supersede && !canStop) invalid('supersede', 'be false with FanoutTarget.pipeline (the pipeline\'s execution mode decides what supersedes)', true);
  if (props.stopOnBranchDeletion && !canStop) invalid('stopOnBranchDeletion', 'be false with FanoutTarget.pipeline', true);
  return { repositories, branches, compiled };
}
