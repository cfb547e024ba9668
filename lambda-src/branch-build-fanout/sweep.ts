import { CodeCommitClient, GetBranchCommand, ListBranchesCommand } from '@aws-sdk/client-codecommit';
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
      await sendBranchMessage(config.queueUrl, { kind: 'push', repository, branch, commit, pushedAt: new Date().toISOString(), source: 'sweep' });
      dispatched++;
      logger.info('missed push queued by the sweep', { repository, branch, commit });
    });
  }
  logger.info('sweep done', { checked, dispatched });
  return { checked, dispatched };
}
