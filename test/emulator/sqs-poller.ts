import {
  DeleteMessageBatchCommand, GetQueueAttributesCommand, Message, ReceiveMessageCommand, SQSClient,
} from '@aws-sdk/client-sqs';
import type { Emulator } from './harness';

/** How a queue's messages reach a handler, like a Lambda event source mapping with batch item failures. */
export interface SqsPollerOptions {
  /** The queue to poll (created in moto by the test). */
  readonly queueUrl: string;
  /** The handler: `handlerAsset(asset, name)` or a test module. */
  readonly handler: string;
  /** The function's name in logs and in the Lambda context. @default 'sqs-poller' */
  readonly functionName?: string;
  /** The function's environment variables (e.g. a `TemplateFunction`'s). @default {} */
  readonly environment?: Record<string, string>;
  /** Messages per invocation (Lambda's `BatchSize`). @default 10 */
  readonly batchSize?: number;
  /** Invocations at once (Lambda's scaling, or `MaximumConcurrency`). @default 5 */
  readonly concurrency?: number;
  /** Pause after a receive that found nothing, in milliseconds. @default 100 */
  readonly idleMs?: number;
}

/** What a poller did so far. */
export interface PollerStats {
  readonly invocations: number;
  readonly received: number;
  readonly deleted: number;
  /** Messages left in the queue: reported in `batchItemFailures`, or the whole batch when the handler threw. */
  readonly failed: number;
}

/**
 * A small event source mapping for tests: receives from an SQS queue in moto (system attributes
 * included: `ApproximateReceiveCount`, `MessageGroupId`...), invokes the handler in-process with an
 * SQS event, deletes the messages it handled and leaves the others, which come back when their
 * visibility timeout ends (the queue's, or the one the handler set), as on AWS. moto applies FIFO
 * rules: a message group with a message in flight delivers nothing else. A handler that throws
 * or answers an unknown item identifier fails the whole batch.
 */
export class SqsPoller {
  private running = false;
  private loops: Array<Promise<void>> = [];
  private inFlight = 0;
  private queueArn?: string;
  private readonly sqs: SQSClient;
  private counts = { invocations: 0, received: 0, deleted: 0, failed: 0 };

  constructor(private readonly emulator: Emulator, private readonly options: SqsPollerOptions) {
    this.sqs = emulator.client(SQSClient);
  }

  public get stats(): PollerStats {
    return { ...this.counts };
  }

  /** Starts polling (returns at once). */
  public async start(): Promise<void> {
    const { Attributes } = await this.sqs.send(new GetQueueAttributesCommand({ QueueUrl: this.options.queueUrl, AttributeNames: ['QueueArn'] }));
    this.queueArn = Attributes?.QueueArn;
    this.running = true;
    this.loops = Array.from({ length: this.options.concurrency ?? 5 }, () => this.loop());
  }

  /** Stops polling and waits for the invocations under way. */
  public async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.sqs.destroy();
  }

  /** Whether the queue holds nothing (visible, in flight or delayed) and no invocation is under way. */
  public async idle(): Promise<boolean> {
    if (this.inFlight > 0) return false;
    const { Attributes = {} } = await this.sqs.send(new GetQueueAttributesCommand({
      QueueUrl: this.options.queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }));
    return Object.values(Attributes).every(v => v === '0') && this.inFlight === 0;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        await this.pollOnce();
      } catch {
        // A receive or delete that failed (e.g. moto reset between tests): try again, like the event source mapping.
        if (this.running) await new Promise(resolve => setTimeout(resolve, 100));
      }
    }
  }

  private async pollOnce(): Promise<void> {
    const { Messages: messages = [] } = await this.sqs.send(new ReceiveMessageCommand({
      QueueUrl: this.options.queueUrl,
      MaxNumberOfMessages: this.options.batchSize ?? 10,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }));
    if (messages.length === 0) {
      await new Promise(resolve => setTimeout(resolve, this.options.idleMs ?? 100));
      return;
    }
    this.inFlight++;
    try {
      this.counts.received += messages.length;
      const failedIds = await this.invoke(messages);
      const handled = messages.filter(m => !failedIds.has(m.MessageId!));
      this.counts.failed += messages.length - handled.length;
      if (handled.length) {
        await this.sqs.send(new DeleteMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: handled.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }));
        this.counts.deleted += handled.length;
      }
    } finally {
      this.inFlight--;
    }
  }

  /** Invokes the handler; returns the ids of the messages to leave in the queue. */
  private async invoke(messages: Message[]): Promise<Set<string>> {
    const all = new Set(messages.map(m => m.MessageId!));
    this.counts.invocations++;
    let result: any;
    try {
      result = await this.emulator.invokeHandler(this.options.handler, { Records: messages.map(m => this.record(m)) },
        { functionName: this.options.functionName ?? 'sqs-poller' }, this.options.environment ?? {});
    } catch {
      return all;
    }
    const failures: unknown[] = result?.batchItemFailures ?? [];
    const ids = failures.map(f => (f as { itemIdentifier?: unknown })?.itemIdentifier);
    if (ids.some(id => typeof id !== 'string' || !all.has(id))) return all;
    return new Set(ids as string[]);
  }

  private record(m: Message) {
    const attributes = m.Attributes ?? {};
    return {
      messageId: m.MessageId,
      receiptHandle: m.ReceiptHandle,
      body: m.Body,
      attributes: {
        ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
        SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
        SenderId: attributes.SenderId ?? 'emulator',
        ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        ...(attributes.MessageGroupId ? { MessageGroupId: attributes.MessageGroupId } : {}),
        ...(attributes.MessageDeduplicationId ? { MessageDeduplicationId: attributes.MessageDeduplicationId } : {}),
        ...(attributes.SequenceNumber ? { SequenceNumber: attributes.SequenceNumber } : {}),
      },
      messageAttributes: {},
      md5OfBody: m.MD5OfBody,
      eventSource: 'aws:sqs',
      eventSourceARN: this.queueArn,
      awsRegion: this.emulator.region,
    };
  }
}
