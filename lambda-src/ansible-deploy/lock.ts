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

/** The first wait before a release is tried again; it doubles up to RELEASE_MAX_DELAY_MS. */
const RELEASE_FIRST_DELAY_MS = 250;
const RELEASE_MAX_DELAY_MS = 5_000;

/**
 * Deletes the lock item if it is still ours. A throttled or unanswered delete is tried again for
 * `releaseSeconds`, which also bounds a call in flight (a lock left behind would block the next run
 * for the whole lease); a delete that is refused, or finds the lock taken over, is not.
 */
async function releaseLock(lock: Lock, owner: string, log: (line: string) => void): Promise<void> {
  const deadline = Date.now() + lock.releaseSeconds * 1000;
  let delay = RELEASE_FIRST_DELAY_MS;
  for (;;) {
    try {
      await awsClient(DynamoDBClient).send(new DeleteItemCommand({
        TableName: lock.table,
        Key: { lockName: { S: lock.name } },
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':owner': { S: owner } },
      }), { abortSignal: AbortSignal.timeout(Math.max(deadline - Date.now(), 1)) });
      log(`lock '${lock.name}' released`);
      return;
    } catch (err) {
      if (transient(err) && Date.now() + delay < deadline) {
        log(`lock table did not answer the release (${(err as Error).name}): trying again`);
        await sleep(delay);
        delay = Math.min(delay * 2, RELEASE_MAX_DELAY_MS);
        continue;
      }
      // Not ours any more, refused, or not reachable within the release's time: the lease ends it.
      log(`lock '${lock.name}' not released (${(err as Error).name}): its lease ends it`);
      return;
    }
  }
}
