import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod/v3';
import type { FanoutConfig } from './config';
import { BranchMessage, deduplicationIdOf, groupIdOf } from './messages';
import { branchMatches } from '../../src/branch-build-fanout/private/branch-globs';
import { awsClient } from '../core/aws-clients';
import { InputError } from '../core/errors';
import { parseInput, parseJson } from '../core/input';
import { logger } from '../core/logger';

const MAX_EVENT = 64 * 1024;
const COMMIT = z.string().regex(/^[0-9a-f]{40}$/);

/** The fields of a `CodeCommit Repository State Change` event the fanout reads. */
const eventSchema = z.object({
  'time': z.string().datetime({ offset: true }),
  'detail-type': z.literal('CodeCommit Repository State Change'),
  'detail': z.object({
    event: z.enum(['referenceCreated', 'referenceUpdated', 'referenceDeleted']),
    referenceType: z.string(),
    referenceName: z.string().min(1).max(256),
    repositoryName: z.string().regex(/^[\w.-]{1,100}$/),
    commitId: COMMIT.optional(),
    oldCommitId: COMMIT.optional(),
  }),
});

/**
 * Turns one CodeCommit event into a message of the branch's group in the dispatch queue, or
 * nothing (a tag, another repository, a branch the globs exclude, a deletion nobody stops on).
 */
export async function intakeEvent(config: FanoutConfig, body: string): Promise<void> {
  if (body.length > MAX_EVENT) throw new InputError(`event is invalid: ${body.length} characters, at most ${MAX_EVENT}`);
  const event = parseInput(eventSchema, parseJson(body, 'event'), 'CodeCommit event');
  const { detail } = event;
  const skip = (reason: string) => logger.info('not built', { reason, repository: detail.repositoryName, branch: detail.referenceName, event: detail.event });
  if (detail.referenceType !== 'branch') return skip('not a branch');
  if (!config.repositories.includes(detail.repositoryName)) return skip('another repository');
  if (!branchMatches(config.branches, detail.referenceName)) return skip('excluded by the branch globs');
  const deleted = detail.event === 'referenceDeleted';
  if (deleted && !config.stopOnBranchDeletion) return skip('deleted');
  const commit = deleted ? detail.oldCommitId : detail.commitId;
  if (!commit) throw new InputError(`${detail.event} event is invalid: it has no commit id`);
  const message: BranchMessage = {
    kind: deleted ? 'deleted' : 'push', repository: detail.repositoryName, branch: detail.referenceName, commit, pushedAt: event.time, source: 'event',
  };
  await sendBranchMessage(config.queueUrl, message);
}

/** Queues a message in its branch's group. */
export async function sendBranchMessage(queueUrl: string, message: BranchMessage): Promise<void> {
  await awsClient(SQSClient).send(new SendMessageCommand({
    QueueUrl: queueUrl,
    MessageBody: JSON.stringify(message),
    MessageGroupId: groupIdOf(message.repository, message.branch),
    MessageDeduplicationId: deduplicationIdOf(message),
  }));
}
