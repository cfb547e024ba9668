import {
  AttributeValue, ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { Outcome } from './outcome';

/*
 * The run table of a construct's long-running jobs (one table per stack, shared by its stages). It
 * links the CodePipeline job, which changes when the job is renewed with a continuation token, to
 * the Step Functions execution and the work the run started. Items expire on their own (TTL
 * attribute `expiresAt`).
 *   run#<runId>                                  job, execution, work, outcome
 *   pipeline#<executionId>#<stateMachineArn>     the run a pipeline execution started in a stage
 * The outcome is stored because a renewed job may arrive after the run ended: it reports it then.
 */

const RETENTION_SECONDS = 3 * 24 * 3600;
let client: DynamoDBClient | undefined;
export function dynamodb(): DynamoDBClient {
  client ??= new DynamoDBClient({});
  return client;
}

export function tableName(): string {
  const name = process.env.TABLE_NAME;
  if (!name) throw new Error('TABLE_NAME is not set');
  return name;
}

export function expiresAt(seconds = RETENTION_SECONDS): AttributeValue {
  return { N: String(Math.floor(Date.now() / 1000) + seconds) };
}

export interface RunRecord {
  readonly runId: string;
  readonly jobId: string;
  /** Epoch milliseconds at which the current job was handed to the stage. */
  readonly jobRegisteredAt: number;
  readonly executionArn?: string;
  readonly pipelineExecutionId?: string;
  /** What the run started and cleanup must stop (e.g. a command and its targets), as the construct recorded it. */
  readonly work?: Record<string, unknown>;
  /** The job was renewed with a continuation token and CodePipeline has not yet handed over the next one. */
  readonly awaitingJob: boolean;
  readonly outcome?: Outcome;
  readonly reported: boolean;
}

function toRecord(item: Record<string, AttributeValue> | undefined): RunRecord | undefined {
  if (!item?.runId?.S || !item.jobId?.S) return undefined;
  return {
    runId: item.runId.S,
    jobId: item.jobId.S,
    jobRegisteredAt: Number(item.jobRegisteredAt?.N ?? 0),
    executionArn: item.executionArn?.S,
    pipelineExecutionId: item.pipelineExecutionId?.S,
    work: item.runWork?.S ? JSON.parse(item.runWork.S) : undefined,
    awaitingJob: item.awaitingJob?.BOOL ?? false,
    outcome: item.outcome?.S ? JSON.parse(item.outcome.S) : undefined,
    reported: item.reported?.BOOL ?? false,
  };
}

/** Runs an update whose condition may legitimately fail; returns undefined when it did. */
export async function conditionalUpdate(input: ConstructorParameters<typeof UpdateItemCommand>[0]) {
  try {
    return await dynamodb().send(new UpdateItemCommand(input));
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException') return undefined;
    throw err;
  }
}

function pipelineKey(pipelineExecutionId: string, stateMachineArn: string): string {
  return `pipeline#${pipelineExecutionId}#${stateMachineArn}`;
}

export interface NewRun {
  readonly runId: string;
  readonly jobId: string;
  readonly stateMachineArn: string;
  readonly executionArn: string;
  readonly pipelineExecutionId?: string;
}

export async function createRun(run: NewRun): Promise<void> {
  const item: Record<string, AttributeValue> = {
    pk: { S: `run#${run.runId}` },
    runId: { S: run.runId },
    jobId: { S: run.jobId },
    jobRegisteredAt: { N: String(Date.now()) },
    executionArn: { S: run.executionArn },
    awaitingJob: { BOOL: false },
    reported: { BOOL: false },
    expiresAt: expiresAt(),
  };
  if (run.pipelineExecutionId) item.pipelineExecutionId = { S: run.pipelineExecutionId };
  await dynamodb().send(new PutItemCommand({ TableName: tableName(), Item: item }));
  if (run.pipelineExecutionId) {
    await dynamodb().send(new PutItemCommand({
      TableName: tableName(),
      Item: { pk: { S: pipelineKey(run.pipelineExecutionId, run.stateMachineArn) }, runId: { S: run.runId }, expiresAt: expiresAt() },
    }));
  }
}

export async function getRun(runId: string): Promise<RunRecord | undefined> {
  const out = await dynamodb().send(new GetItemCommand({ TableName: tableName(), Key: { pk: { S: `run#${runId}` } }, ConsistentRead: true }));
  return toRecord(out.Item);
}

/** The run a pipeline execution started on a stage's state machine. */
export async function findRunIdByPipelineExecution(pipelineExecutionId: string, stateMachineArn: string): Promise<string | undefined> {
  const out = await dynamodb().send(new GetItemCommand({
    TableName: tableName(), Key: { pk: { S: pipelineKey(pipelineExecutionId, stateMachineArn) } }, ConsistentRead: true,
  }));
  return out.Item?.runId?.S;
}

/** Records what the run started, so that cleanup can stop it. */
export async function recordWork(runId: string, work: Record<string, unknown>): Promise<void> {
  await dynamodb().send(new UpdateItemCommand({
    TableName: tableName(),
    Key: { pk: { S: `run#${runId}` } },
    UpdateExpression: 'SET runWork = :w',
    ExpressionAttributeValues: { ':w': { S: JSON.stringify(work) } },
  }));
}

/**
 * Stores how a run ended, once. Returns the run as it is now, or undefined when an outcome was
 * already stored (someone else settled the run first).
 */
export async function settleOutcome(runId: string, outcome: Outcome): Promise<RunRecord | undefined> {
  const out = await conditionalUpdate({
    TableName: tableName(),
    Key: { pk: { S: `run#${runId}` } },
    ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(outcome)',
    UpdateExpression: 'SET outcome = :o',
    ExpressionAttributeValues: { ':o': { S: JSON.stringify(outcome) } },
    ReturnValues: 'ALL_NEW',
  });
  return out ? toRecord(out.Attributes) : undefined;
}

export async function markReported(runId: string): Promise<void> {
  await dynamodb().send(new UpdateItemCommand({
    TableName: tableName(),
    Key: { pk: { S: `run#${runId}` } },
    UpdateExpression: 'SET reported = :true',
    ExpressionAttributeValues: { ':true': { BOOL: true } },
  }));
}

/**
 * Marks that the current job is being renewed. Returns the job id to renew, or undefined when the
 * run already has an outcome or a renewal is under way.
 */
export async function beginRenewal(runId: string): Promise<string | undefined> {
  const out = await conditionalUpdate({
    TableName: tableName(),
    Key: { pk: { S: `run#${runId}` } },
    ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(outcome) AND awaitingJob = :false',
    UpdateExpression: 'SET awaitingJob = :true',
    ExpressionAttributeValues: { ':true': { BOOL: true }, ':false': { BOOL: false } },
    ReturnValues: 'ALL_NEW',
  });
  return out ? toRecord(out.Attributes)?.jobId : undefined;
}

/** Undoes `beginRenewal` when CodePipeline refused the renewal. */
export async function abandonRenewal(runId: string): Promise<void> {
  await dynamodb().send(new UpdateItemCommand({
    TableName: tableName(),
    Key: { pk: { S: `run#${runId}` } },
    UpdateExpression: 'SET awaitingJob = :false',
    ExpressionAttributeValues: { ':false': { BOOL: false } },
  }));
}

/** Hands the run the job CodePipeline created for its continuation token. */
export async function registerJob(runId: string, jobId: string): Promise<RunRecord | undefined> {
  const out = await conditionalUpdate({
    TableName: tableName(),
    Key: { pk: { S: `run#${runId}` } },
    ConditionExpression: 'attribute_exists(pk)',
    UpdateExpression: 'SET jobId = :j, jobRegisteredAt = :now, awaitingJob = :false',
    ExpressionAttributeValues: { ':j': { S: jobId }, ':now': { N: String(Date.now()) }, ':false': { BOOL: false } },
    ReturnValues: 'ALL_NEW',
  });
  return out ? toRecord(out.Attributes) : undefined;
}
