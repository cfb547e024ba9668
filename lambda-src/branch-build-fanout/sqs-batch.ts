import { ChangeMessageVisibilityBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { isTransient } from './transient';
import { awsClient } from '../core/aws-clients';
import { reasonOf } from '../core/errors';
import { logger } from '../core/logger';
import { mapLimit } from '../core/map-limit';

/** The longest wait before a message comes back: shorter than CodeBuild's 5-minute idempotency window. */
export const MAX_BACKOFF_SECONDS = 240;
const GROUPS_AT_ONCE = 10;
/**
 * No record is started with less time left than this: a record usually takes a few calls of a
 * second or less. The records not started come back at once, in order.
 */
export const RECORD_TIME_MS = 10_000;
/**
 * A record's calls can take far longer than RECORD_TIME_MS (each may wait for its timeouts and
 * retries, aws-clients): the batch stops waiting for a record once only this much time is left, and
 * reports it with the rest of its group as failed, before the function's timeout. The time left
 * covers the batch's own visibility change (one call of a 2 s connection and a 5 s answer). The
 * record is redone later: the ledger makes a redo of a started push a no-op, or starts it with the
 * same idempotency token.
 */
export const RETURN_MARGIN_MS = 8_000;

export interface BatchSettings {
  /** The queue the records come from (to change their visibility). */
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  /** Receives of a message that can never succeed before it is moved to the dead-letter queue. */
  readonly maxReceiveCount: number;
  readonly retryBackoffSeconds: number;
  /** The invocation's remaining time (Lambda's context). */
  readonly remainingMs?: () => number;
}

/** Seconds until a message that failed on its `receives`-th receive comes back: doubling, capped, with jitter. */
export function backoffSeconds(baseSeconds: number, receives: number): number {
  const exponential = Math.min(MAX_BACKOFF_SECONDS, baseSeconds * 2 ** Math.min(Math.max(receives - 1, 0), 16));
  return Math.min(MAX_BACKOFF_SECONDS, Math.round(exponential * (0.8 + Math.random() * 0.4)));
}

/**
 * Handles a batch of a FIFO queue as Lambda's event source mapping delivers it: the records of each
 * message group in order, groups side by side. At a record's failure the rest of its group is
 * reported failed too (FIFO order), and they all wait out a backoff (their visibility is changed),
 * so a throttled branch neither blocks the others nor spins. Errors that can never succeed move
 * the message to the dead-letter queue once it has been received `maxReceiveCount` times; transient
 * ones (throttling, quotas, 5xx, no answer) never do: the message waits and comes back.
 */
export async function handleFifoBatch(
  event: SQSEvent, settings: BatchSettings, handle: (record: SQSRecord) => Promise<void>,
): Promise<SQSBatchResponse> {
  const groups = new Map<string, SQSRecord[]>();
  for (const record of event.Records) {
    const group = record.attributes.MessageGroupId ?? '';
    groups.set(group, [...(groups.get(group) ?? []), record]);
  }
  const failed = await mapLimit([...groups.values()], GROUPS_AT_ONCE, records => handleGroup(records, settings, handle));
  return { batchItemFailures: failed.flat().map(r => ({ itemIdentifier: r.messageId })) };
}

/** Handles one group's records in order; returns the records to report as failed. */
async function handleGroup(records: SQSRecord[], settings: BatchSettings, handle: (record: SQSRecord) => Promise<void>): Promise<SQSRecord[]> {
  for (const [index, record] of records.entries()) {
    if (settings.remainingMs && settings.remainingMs() < RECORD_TIME_MS) {
      const rest = records.slice(index);
      logger.warn('too little time left: the rest of the group comes back at once', { messageId: record.messageId, returned: rest.length });
      await returnAfter(rest, 0, settings.queueUrl);
      return rest;
    }
    const receives = Number(record.attributes.ApproximateReceiveCount) || 1;
    try {
      if (await withinTime(handle(record), settings.remainingMs) === 'out of time') {
        const rest = records.slice(index);
        logger.warn('a record ran out of the invocation\'s time: it and the rest of its group come back at once', { messageId: record.messageId, returned: rest.length });
        await returnAfter(rest, 0, settings.queueUrl);
        return rest;
      }
      continue;
    } catch (err) {
      const transient = isTransient(err);
      const reason = reasonOf(err);
      if (!transient && receives >= settings.maxReceiveCount && await moveToDeadLetterQueue(record, reason, settings)) continue;
      const rest = records.slice(index);
      const delay = backoffSeconds(settings.retryBackoffSeconds, receives);
      logger.warn(transient ? 'transient failure: the message comes back after a backoff' : 'failure: the message comes back until its receives are used up', {
        messageId: record.messageId, receives, reason, backoffSeconds: delay, alsoReturned: rest.length - 1,
      });
      await returnAfter(rest, delay, settings.queueUrl);
      return rest;
    }
  }
  return [];
}

/** Waits for the record's work until only RETURN_MARGIN_MS of the invocation is left. */
async function withinTime(work: Promise<void>, remainingMs: (() => number) | undefined): Promise<'done' | 'out of time'> {
  if (!remainingMs) {
    await work;
    return 'done';
  }
  let timer: NodeJS.Timeout | undefined;
  const outOfTime = new Promise<'out of time'>(resolve => {
    timer = setTimeout(() => resolve('out of time'), Math.max(remainingMs() - RETURN_MARGIN_MS, 0));
  });
  // A record abandoned here may still fail later: its error is the redo's to handle.
  work.catch(() => undefined);
  try {
    return await Promise.race([work.then(() => 'done' as const), outOfTime]);
  } finally {
    clearTimeout(timer);
  }
}

async function moveToDeadLetterQueue(record: SQSRecord, reason: string, settings: BatchSettings): Promise<boolean> {
  try {
    await awsClient(SQSClient).send(new SendMessageCommand({
      QueueUrl: settings.deadLetterQueueUrl,
      MessageBody: record.body,
      MessageGroupId: record.attributes.MessageGroupId ?? 'fanout',
      MessageDeduplicationId: record.messageId,
      MessageAttributes: {
        error: { DataType: 'String', StringValue: reason.slice(0, 1000) },
        sourceQueue: { DataType: 'String', StringValue: record.eventSourceARN },
      },
    }));
    logger.error('moved to the dead-letter queue: this message can never succeed', { messageId: record.messageId, reason });
    return true;
  } catch (err) {
    logger.error('could not move the message to the dead-letter queue; it comes back', { messageId: record.messageId, reason: reasonOf(err) });
    return false;
  }
}

/** Makes the records visible again after `seconds` (best effort: otherwise they return after the queue's visibility timeout). */
async function returnAfter(records: SQSRecord[], seconds: number, queueUrl: string): Promise<void> {
  try {
    const answer = await awsClient(SQSClient).send(new ChangeMessageVisibilityBatchCommand({
      QueueUrl: queueUrl,
      Entries: records.slice(0, 10).map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle, VisibilityTimeout: seconds })),
    }));
    if (answer.Failed?.length) logger.warn('some messages keep the queue\'s visibility timeout', { failed: answer.Failed.length });
  } catch (err) {
    logger.warn('the messages keep the queue\'s visibility timeout', { reason: reasonOf(err) });
  }
}
