import type { FanoutConfig } from './config';
import { claimPush, getHead, markStarted, pushKey, putHead } from './ledger';
import { BranchMessage, idempotencyTokenOf } from './messages';
import { findBuildOf, startTarget, stopIfRunning } from './targets';
import { isTransient } from './transient';
import { branchMatches } from '../../src/branch-build-fanout/private/branch-globs';
import { reasonOf } from '../core/errors';
import { logger } from '../core/logger';

/** CodeBuild keeps an idempotency token for 5 minutes; a redo later than this looks the build up first. */
const IDEMPOTENCY_WINDOW_MS = 4 * 60_000;

/**
 * Starts the target for one push, exactly once per (repository, branch, commit): the ledger claim
 * makes a redelivered push a no-op, and a claim left by a crash is redone with the same token.
 */
export async function dispatchPush(config: FanoutConfig, push: BranchMessage): Promise<void> {
  const key = pushKey(push.repository, push.branch, push.commit);
  const where = { repository: push.repository, branch: push.branch, commit: push.commit, source: push.source };
  const claim = await claimPush(config.ledgerTable, key, { repository: push.repository, branch: push.branch, commit: push.commit });
  if (claim.state === 'started') {
    logger.info('already dispatched: skipped', { ...where, buildId: claim.buildId });
    return;
  }
  let buildId: string | undefined;
  if (claim.state === 'starting' && config.target.type === 'codebuild' && Date.now() - claim.claimedAt > IDEMPOTENCY_WINDOW_MS) {
    buildId = await findBuildOf(config.target.projectName, push);
  }
  buildId ??= await startTarget(config.target, push, idempotencyTokenOf(push));
  const pushToStartMs = Date.now() - Date.parse(push.pushedAt);
  logger.info('dispatched', { ...where, buildId, target: config.target.type, pushToStartMs, redone: claim.state === 'starting' });
  // The branch's latest build matters only to stop it (superseding, deletions).
  if (config.target.type === 'codebuild' && (config.supersede || config.stopOnBranchDeletion)) await supersede(config, push, buildId);
  await markStarted(config.ledgerTable, key, buildId);
}

/**
 * Records the branch's new build and, with superseding on, stops the one it replaces. The replaced
 * build stays recorded until it is stopped, so a redo after a failure here still stops it.
 */
async function supersede(config: FanoutConfig, push: BranchMessage, buildId: string): Promise<void> {
  const head = await getHead(config.ledgerTable, push.repository, push.branch);
  const replaced = head?.buildId === buildId ? head.previousBuildId : head?.buildId;
  await putHead(config.ledgerTable, push.repository, push.branch, push.commit, { buildId, previousBuildId: replaced });
  if (!replaced || !config.supersede || branchMatches(config.protectedBranches, push.branch)) return;
  await stop(replaced, { repository: push.repository, branch: push.branch, reason: 'superseded', by: buildId });
  await putHead(config.ledgerTable, push.repository, push.branch, push.commit, { buildId });
}

/** A deleted branch: stops its latest build (unless protected). */
export async function branchDeleted(config: FanoutConfig, message: BranchMessage): Promise<void> {
  if (!config.stopOnBranchDeletion || config.target.type !== 'codebuild' || branchMatches(config.protectedBranches, message.branch)) return;
  const head = await getHead(config.ledgerTable, message.repository, message.branch);
  if (head) await stop(head.buildId, { repository: message.repository, branch: message.branch, reason: 'branch deleted' });
}

/** Stops a build; a build that cannot be stopped for good (gone, access denied) is logged, not retried. */
async function stop(buildId: string, details: Record<string, string>): Promise<void> {
  try {
    const stopped = await stopIfRunning(buildId);
    logger.info(stopped ? 'stopped a build' : 'build no longer running', { ...details, stoppedBuildId: buildId });
  } catch (err) {
    if (isTransient(err)) throw err;
    logger.warn('could not stop a build', { ...details, stoppedBuildId: buildId, reason: reasonOf(err) });
  }
}
