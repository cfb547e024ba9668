import { CodeCommitClient, GetBranchCommand, GetCommitCommand, ListBranchesCommand } from '@aws-sdk/client-codecommit';
import type { FanoutConfig } from './config';
import { sendBranchMessage } from './intake';
import { hasPush, pushKey } from './ledger';
import { branchMatches } from '../../src/branch-build-fanout/private/branch-globs';
import { awsClient } from '../core/aws-clients';
import { logger } from '../core/logger';
import { mapLimit } from '../core/map-limit';
import { paginate } from '../core/paginate';

const BRANCHES_AT_ONCE = 5;
/**
 * A head committed more recently than this is left to its event (or the next sweep): its event may
 * still be on its way, and dispatching the head first would build it before an older push.
 */
export const SWEEP_GRACE_MS = 10 * 60_000;

/**
 * Compares the head of each matching branch with the ledger and queues the heads it does not hold
 * (their events were lost). The queue's deduplication and the ledger make a head that an event
 * brings at the same time one build.
 */
export async function sweepHeads(config: FanoutConfig): Promise<{ checked: number; dispatched: number }> {
  const codecommit = awsClient(CodeCommitClient);
  let checked = 0;
  let dispatched = 0;
  for (const repository of config.repositories) {
    const branches: string[] = [];
    for await (const page of paginate(`ListBranches of ${repository}`, async token => {
      const answer = await codecommit.send(new ListBranchesCommand({ repositoryName: repository, nextToken: token }));
      return { branches: answer.branches ?? [], token: answer.nextToken };
    })) branches.push(...page.branches.filter(b => branchMatches(config.branches, b)));
    await mapLimit(branches, BRANCHES_AT_ONCE, async branch => {
      const commit = (await codecommit.send(new GetBranchCommand({ repositoryName: repository, branchName: branch }))).branch?.commitId;
      checked++;
      if (!commit || await hasPush(config.ledgerTable, pushKey(repository, branch, commit))) return;
      const { commit: details } = await codecommit.send(new GetCommitCommand({ repositoryName: repository, commitId: commit }));
      const committed = committedAt(details?.committer?.date);
      if (committed === undefined || Date.now() - committed < SWEEP_GRACE_MS) {
        logger.info('missing head left to its event: committed recently', { repository, branch, commit });
        return;
      }
      await sendBranchMessage(config.queueUrl, { kind: 'push', repository, branch, commit, pushedAt: new Date().toISOString(), source: 'sweep' });
      dispatched++;
      logger.info('missed push queued by the sweep', { repository, branch, commit });
    });
  }
  logger.info('sweep done', { checked, dispatched });
  return { checked, dispatched };
}

/** CodeCommit's `date` of a committer: epoch seconds and a time zone, e.g. `1764576000 +0100`. */
function committedAt(date: string | undefined): number | undefined {
  const seconds = Number(date?.trim().split(/\s+/)[0]);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}
