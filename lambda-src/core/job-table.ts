import {
  AttributeValue, ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { awsClient } from './aws-clients';
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

export const RETENTION_SECONDS = 3 * 24 * 3600;
export const dynamodb = () => awsClient(DynamoDBClient);

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
  /** How old a job may grow before the run renews it (the stage derives it from its backstop interval). */
  readonly renewAfterMs?: number;
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
    renewAfterMs: item.renewAfterMs?.N ? Number(item.renewAfterMs.N) : undefined,
    executionArn: item.executionArn?.S,
    pipelineExecutionId: item.pipelineExecutionId?.S,
    work: item.runWork?.S ? JSON.parse(item.runWork.S) : undefined,
    awaitingJob: item.awaitingJob?.BOOL ?? false,
    outcome: item.outcome?.S ? JSON.parse(item.outcome.S) : undefined,
    reported: item.reported?.BOOL ?? false,
  };
}

function isConditionFailed(err: unknown): boolean {
  return err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException';
}

/** Runs an update whose condition may legitimately fail; returns undefined when it did. */
export async function conditionalUpdate(input: ConstructorParameters<typeof UpdateItemCommand>[0]) {
  try {
    return await dynamodb().send(new UpdateItemCommand(input));
  } catch (err) {
    if (isConditionFailed(err)) return undefined;
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
  readonly renewAfterMs?: number;
}

/** Records a new run; returns false (and changes nothing) when the run is recorded already. */
export async function createRun(run: NewRun): Promise<boolean> {
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
  if (run.renewAfterMs) item.renewAfterMs = { N: String(run.renewAfterMs) };
  try {
    await dynamodb().send(new PutItemCommand({ TableName: tableName(), Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
  } catch (err) {
    if (!isConditionFailed(err)) throw err;
    return false;
  }
  if (run.pipelineExecutionId) {
    await dynamodb().send(new PutItemCommand({
      TableName: tableName(),
      Item: { pk: { S: pipelineKey(run.pipelineExecutionId, run.stateMachineArn) }, runId: { S: run.runId }, expiresAt: expiresAt() },
    }));
  }
  return true;
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
 * Stores how a run ended; the first outcome stored wins. Returns the run as it is now (with the
 * outcome to report), or undefined when no run is recorded.
 */
export async function storeOutcome(runId: string, outcome: Outcome): Promise<RunRecord | undefined> {
  const out = await conditionalUpdate({
    TableName: tableName(),
    Key: { pk: { S: `run#${runId}` } },
    ConditionExpression: 'attribute_exists(pk)',
    UpdateExpression: 'SET outcome = if_not_exists(outcome, :o)',
    ExpressionAttributeValues: { ':o': { S: JSON.stringify(outcome) } },
    ReturnValues: 'ALL_NEW',
  });
  return out ? toRecord(out.Attributes) : undefined;
}

/** Marks the run reported once CodePipeline has taken the result of `jobId` (still the run's job). */
export async function markReported(runId: string, jobId: string): Promise<void> {
  await conditionalUpdate({
    TableName: tableName(),
    Key: { pk: { S: `run#${runId}` } },
    ConditionExpression: 'jobId = :j',
    UpdateExpression: 'SET reported = :true',
    ExpressionAttributeValues: { ':true': { BOOL: true }, ':j': { S: jobId } },
  });
}

/**
 * Marks that the current job is being renewed, and returns its id; undefined when the run already
 * has an outcome. A renewal under way is renewed again: an unanswered renewal may have been taken.
 */
export async function beginRenewal(runId: string): Promise<string | undefined> {
  const out = await conditionalUpdate({
    TableName: tableName(),
    Key: { pk: { S: `run#${runId}` } },
    ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(outcome)',
    UpdateExpression: 'SET awaitingJob = :true',
    ExpressionAttributeValues: { ':true': { BOOL: true } },
    ReturnValues: 'ALL_NEW',
  });
  return out ? toRecord(out.Attributes)?.jobId : undefined;
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
