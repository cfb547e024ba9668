import { ConditionalCheckFailedException, DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { RunConfig } from './config';
import { awsClient } from '../core/aws-clients';

/*
 * The stage's concurrency lock: one item per lock name in the stack's lock table, taken with a
 * conditional put. Two builds never hold it at once; a build that finds it held waits (polling)
 * until it is released, or until the holder's lease ends (a build that was killed before it could
 * release it). The lease is the build's timeout, so a running holder never loses it.
 */

type Lock = NonNullable<RunConfig['lock']>;

export interface HeldLock {
  release(): Promise<void>;
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

export async function acquireLock(lock: Lock, owner: string, log: (line: string) => void): Promise<HeldLock> {
  const ddb = awsClient(DynamoDBClient);
  let reported = '';
  for (;;) {
    const now = Math.floor(Date.now() / 1000);
    try {
      await ddb.send(new PutItemCommand({
        TableName: lock.table,
        Item: { lockName: { S: lock.name }, owner: { S: owner }, expiresAt: { N: String(now + lock.ttlSeconds) } },
        ConditionExpression: 'attribute_not_exists(lockName) OR expiresAt < :now OR #owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':now': { N: String(now) }, ':owner': { S: owner } },
      }));
      log(`lock '${lock.name}' taken`);
      return { release: () => releaseLock(lock, owner, log) };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) {
        if (!transient(err)) throw err;
        log(`lock table did not answer (${(err as Error).name}): trying again`);
        await sleep(lock.pollSeconds * 1000);
        continue;
      }
    }
    const holderText = await describeHolder(ddb, lock);
    if (holderText !== reported) log(`lock '${lock.name}' is held by ${holderText}: waiting`);
    reported = holderText;
    await sleep(lock.pollSeconds * 1000);
  }
}

/**
 * Throttling, 5xx, timeouts and failed connections: the put is tried again (it is idempotent for
 * its owner: the condition lets the same build take the lock it may already hold). Anything else,
 * such as a denied access, ends the run before ansible starts.
 */
function transient(err: unknown): boolean {
  const e = err as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  // No HTTP status: the request timed out or the connection failed.
  return status === undefined || status >= 500 || !!e.$retryable
    || ['ThrottlingException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded'].includes(e.name ?? '');
}

/** Who holds the lock, for the log (best effort: the put decides). */
async function describeHolder(ddb: DynamoDBClient, lock: Lock): Promise<string> {
  try {
    const holder = await ddb.send(new GetItemCommand({ TableName: lock.table, Key: { lockName: { S: lock.name } }, ConsistentRead: true }));
    return holder.Item ? `${holder.Item.owner?.S} (lease until ${new Date(Number(holder.Item.expiresAt?.N) * 1000).toISOString()})` : 'a build that just released it';
  } catch (err) {
    return `another build (its item could not be read: ${(err as Error).name})`;
  }
}

async function releaseLock(lock: Lock, owner: string, log: (line: string) => void): Promise<void> {
  try {
    await awsClient(DynamoDBClient).send(new DeleteItemCommand({
      TableName: lock.table,
      Key: { lockName: { S: lock.name } },
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': { S: owner } },
    }));
    log(`lock '${lock.name}' released`);
  } catch (err) {
    // Not ours any more, or not reachable: the lease ends it.
    log(`lock '${lock.name}' not released (${(err as Error).name}): its lease ends it`);
  }
}
