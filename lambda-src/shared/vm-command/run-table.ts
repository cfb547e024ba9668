import {
  AttributeValue, ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { Outcome } from './outcome';

/*
 * The run table links the pieces of one run: the CodePipeline job (which changes when the job is
 * renewed with a continuation token), the Step Functions execution, the SSM command and the task
 * token the state machine waits on. Items expire on their own (TTL attribute `expiresAt`).
 *   run#<runId>            job, execution, command, outcome
 *   pipeline#<executionId> the run started by a pipeline execution
 *   command#<commandId>    the run, the task token waiting for it, and whether SSM said it finished
 * SSM's "command finished" event may arrive before the send task records the command: the mark is
 * written either way, and recording the command keeps it.
 */

const RETENTION_SECONDS = 3 * 24 * 3600;
/** A completion mark no run has claimed (yet): long enough for the send task to record its command. */
const UNCLAIMED_MARK_SECONDS = 24 * 3600;

let client: DynamoDBClient | undefined;
function dynamodb(): DynamoDBClient {
  client ??= new DynamoDBClient({});
  return client;
}

function tableName(): string {
  const name = process.env.TABLE_NAME;
  if (!name) throw new Error('TABLE_NAME is not set');
  return name;
}

function expiresAt(seconds = RETENTION_SECONDS): AttributeValue {
  return { N: String(Math.floor(Date.now() / 1000) + seconds) };
}

export interface RunRecord {
  readonly runId: string;
  readonly jobId: string;
  /** Epoch milliseconds at which the current job was handed to the stage. */
  readonly jobRegisteredAt: number;
  readonly executionArn?: string;
  readonly pipelineExecutionId?: string;
  readonly commandId?: string;
  readonly instanceIds: string[];
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
    commandId: item.commandId?.S,
    instanceIds: (item.instanceIds?.L ?? []).map(v => v.S!).filter(Boolean),
    awaitingJob: item.awaitingJob?.BOOL ?? false,
    outcome: item.outcome?.S ? JSON.parse(item.outcome.S) : undefined,
    reported: item.reported?.BOOL ?? false,
  };
}

/** Runs an update whose condition may legitimately fail; returns undefined when it did. */
async function conditionalUpdate(input: ConstructorParameters<typeof UpdateItemCommand>[0]) {
  try {
    return await dynamodb().send(new UpdateItemCommand(input));
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException') return undefined;
    throw err;
  }
}

export async function createRun(run: { runId: string; jobId: string; executionArn: string; pipelineExecutionId?: string }): Promise<void> {
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
      Item: { pk: { S: `pipeline#${run.pipelineExecutionId}` }, runId: { S: run.runId }, expiresAt: expiresAt() },
    }));
  }
}

export async function getRun(runId: string): Promise<RunRecord | undefined> {
  const out = await dynamodb().send(new GetItemCommand({ TableName: tableName(), Key: { pk: { S: `run#${runId}` } }, ConsistentRead: true }));
  return toRecord(out.Item);
}

export async function findRunIdByPipelineExecution(pipelineExecutionId: string): Promise<string | undefined> {
  const out = await dynamodb().send(new GetItemCommand({
    TableName: tableName(), Key: { pk: { S: `pipeline#${pipelineExecutionId}` } }, ConsistentRead: true,
  }));
  return out.Item?.runId?.S;
}

/** Records the command a run sent, so that cleanup can cancel it and events can find the run. */
export async function recordCommand(runId: string, commandId: string, instanceIds: string[]): Promise<void> {
  // An update, not a put: it keeps a completion mark the event may have left already.
  await dynamodb().send(new UpdateItemCommand({
    TableName: tableName(),
    Key: { pk: { S: `command#${commandId}` } },
    UpdateExpression: 'SET runId = :r, expiresAt = :e',
    ExpressionAttributeValues: { ':r': { S: runId }, ':e': expiresAt() },
  }));
  await dynamodb().send(new UpdateItemCommand({
    TableName: tableName(),
    Key: { pk: { S: `run#${runId}` } },
    UpdateExpression: 'SET commandId = :c, instanceIds = :i',
    ExpressionAttributeValues: { ':c': { S: commandId }, ':i': { L: instanceIds.map(id => ({ S: id })) } },
  }));
}

/**
 * Stores the task token the state machine waits on for a command. Returns true when SSM already
 * reported the command finished (the event came before the token), consuming that mark so it
 * short-cuts one wait only.
 */
export async function storeTaskToken(commandId: string, taskToken: string): Promise<boolean> {
  const out = await conditionalUpdate({
    TableName: tableName(),
    Key: { pk: { S: `command#${commandId}` } },
    ConditionExpression: 'attribute_exists(runId)',
    UpdateExpression: 'SET taskToken = :t REMOVE completed',
    ExpressionAttributeValues: { ':t': { S: taskToken } },
    ReturnValues: 'ALL_OLD',
  });
  if (!out) throw new Error(`command ${commandId} is not recorded in the run table`);
  return out.Attributes?.completed?.BOOL === true;
}

/**
 * Marks a command finished, whether or not a run has recorded it yet. Returns whether a run had
 * (`known`) and the task token waiting for it, if any. A mark nobody claims expires within a day:
 * the stage's rule also sees commands of the same document that other senders ran.
 */
export async function markCommandCompleted(commandId: string): Promise<{ known: boolean; taskToken?: string }> {
  const out = await dynamodb().send(new UpdateItemCommand({
    TableName: tableName(),
    Key: { pk: { S: `command#${commandId}` } },
    UpdateExpression: 'SET completed = :true, expiresAt = if_not_exists(expiresAt, :e) REMOVE taskToken',
    ExpressionAttributeValues: { ':true': { BOOL: true }, ':e': expiresAt(UNCLAIMED_MARK_SECONDS) },
    ReturnValues: 'ALL_OLD',
  }));
  return { known: out.Attributes?.runId?.S !== undefined, taskToken: out.Attributes?.taskToken?.S };
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
