import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { awsClient } from '../core/aws-clients';

/*
 * The ledger: one item per dispatched (repository, branch, commit), keyed `repository#branch#commit`,
 * and one per branch (`repository|branch`: repository names hold neither `#` nor `|`) with the
 * branch's latest build. A push is claimed (state `starting`) before its build is started and
 * marked `started` after, so a crash in between is redone with the same idempotency token, and a
 * redelivered push finds `started` and is skipped.
 */

export type Claim =
  | { readonly state: 'new' }
  | { readonly state: 'starting'; readonly claimedAt: number }
  | { readonly state: 'started'; readonly buildId: string };

export interface BranchHead {
  readonly buildId: string;
  /** The build this one replaced, until it has been stopped or found not running. */
  readonly previousBuildId?: string;
}

const dynamodb = () => awsClient(DynamoDBClient);

export function pushKey(repository: string, branch: string, commit: string): string {
  return `${repository}#${branch}#${commit}`;
}

function headKey(repository: string, branch: string): string {
  return `${repository}|${branch}`;
}

/** Claims a push: `new` if this call claimed it, otherwise what the ledger already holds. */
export async function claimPush(table: string, key: string, fields: Record<string, string>): Promise<Claim> {
  const now = Date.now();
  try {
    await dynamodb().send(new PutItemCommand({
      TableName: table,
      Item: {
        pk: { S: key },
        state: { S: 'starting' },
        claimedAt: { N: String(now) },
        ...Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { S: v }])),
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    }));
    return { state: 'new' };
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException) && (err as Error).name !== 'ConditionalCheckFailedException') throw err;
  }
  const { Item: item } = await dynamodb().send(new GetItemCommand({ TableName: table, Key: { pk: { S: key } }, ConsistentRead: true }));
  if (item?.state?.S === 'started') return { state: 'started', buildId: item.buildId?.S ?? '' };
  return { state: 'starting', claimedAt: Number(item?.claimedAt?.N ?? now) };
}

export async function markStarted(table: string, key: string, buildId: string): Promise<void> {
  await dynamodb().send(new UpdateItemCommand({
    TableName: table,
    Key: { pk: { S: key } },
    UpdateExpression: 'SET #state = :started, buildId = :buildId, startedAt = :now',
    ExpressionAttributeNames: { '#state': 'state' },
    ExpressionAttributeValues: { ':started': { S: 'started' }, ':buildId': { S: buildId }, ':now': { N: String(Date.now()) } },
  }));
}

/** Whether the ledger holds the push (dispatched or being dispatched). */
export async function hasPush(table: string, key: string): Promise<boolean> {
  const { Item: item } = await dynamodb().send(new GetItemCommand({ TableName: table, Key: { pk: { S: key } }, ProjectionExpression: 'pk' }));
  return item !== undefined;
}

export async function getHead(table: string, repository: string, branch: string): Promise<BranchHead | undefined> {
  const key = { pk: { S: headKey(repository, branch) } };
  const { Item: item } = await dynamodb().send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }));
  if (!item?.buildId?.S) return undefined;
  return { buildId: item.buildId.S, previousBuildId: item.previousBuildId?.S };
}

export async function putHead(table: string, repository: string, branch: string, commit: string, head: BranchHead): Promise<void> {
  await dynamodb().send(new PutItemCommand({
    TableName: table,
    Item: {
      pk: { S: headKey(repository, branch) },
      commit: { S: commit },
      buildId: { S: head.buildId },
      ...(head.previousBuildId ? { previousBuildId: { S: head.previousBuildId } } : {}),
      updatedAt: { N: String(Date.now()) },
    },
  }));
}
