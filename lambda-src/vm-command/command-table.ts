import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { conditionalUpdate, dynamodb, expiresAt, recordWork, tableName } from '../core/job-table';

/*
 * The commands of VM runs, in the construct's run table:
 *   command#<commandId>    the run, the task token waiting for it, and whether SSM said it finished
 * SSM's "command finished" event may arrive before the send step records the command: the mark is
 * written either way, and recording the command keeps it.
 */

/** A completion mark no run has claimed (yet): long enough for the send step to record its command. */
const UNCLAIMED_MARK_SECONDS = 24 * 3600;

/**
 * What a VM run recorded of its command, for cleanup: before sending, the intent (the document and
 * the time), so that a command whose answer was lost can still be found by its comment; once sent,
 * the command and its targets.
 */
export interface CommandWork {
  readonly documentName: string;
  /** ISO time before the command was sent. */
  readonly sentAfter: string;
  readonly commandId?: string;
  readonly instanceIds?: string[];
}

/** Records that the run is about to send a command of this document. */
export async function recordIntent(runId: string, documentName: string): Promise<CommandWork> {
  const work: CommandWork = { documentName, sentAfter: new Date(Date.now() - 60_000).toISOString() };
  await recordWork(runId, { ...work });
  return work;
}

/** Records the command a run sent, so that cleanup can cancel it and events can find the run. */
export async function recordCommand(runId: string, intent: CommandWork, commandId: string, instanceIds: string[]): Promise<void> {
  // An update, not a put: it keeps a completion mark the event may have left already.
  await dynamodb().send(new UpdateItemCommand({
    TableName: tableName(),
    Key: { pk: { S: `command#${commandId}` } },
    UpdateExpression: 'SET runId = :r, expiresAt = :e',
    ExpressionAttributeValues: { ':r': { S: runId }, ':e': expiresAt() },
  }));
  const work: CommandWork = { ...intent, commandId, instanceIds };
  await recordWork(runId, { ...work });
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
 * (`known`) and the task token waiting for it, if any. The token stays until the execution was
 * resumed (`clearTaskToken`), so a retry after a failed resume finds it. A mark nobody claims
 * expires within a day.
 */
export async function markCommandCompleted(commandId: string): Promise<{ known: boolean; taskToken?: string }> {
  const out = await dynamodb().send(new UpdateItemCommand({
    TableName: tableName(),
    Key: { pk: { S: `command#${commandId}` } },
    UpdateExpression: 'SET completed = :true, expiresAt = if_not_exists(expiresAt, :e)',
    ExpressionAttributeValues: { ':true': { BOOL: true }, ':e': expiresAt(UNCLAIMED_MARK_SECONDS) },
    ReturnValues: 'ALL_OLD',
  }));
  return { known: out.Attributes?.runId?.S !== undefined, taskToken: out.Attributes?.taskToken?.S };
}

/** Forgets a task token once the execution it belongs to was resumed (or had moved on). */
export async function clearTaskToken(commandId: string, taskToken: string): Promise<void> {
  await conditionalUpdate({
    TableName: tableName(),
    Key: { pk: { S: `command#${commandId}` } },
    ConditionExpression: 'taskToken = :t',
    UpdateExpression: 'REMOVE taskToken',
    ExpressionAttributeValues: { ':t': { S: taskToken } },
  });
}
