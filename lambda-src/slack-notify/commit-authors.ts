import { CodeCommitClient, GetCommitCommand } from '@aws-sdk/client-codecommit';
import { CodeCommitRepository } from './config';
import { Revision } from './notification';
import { reasonOf } from '../core/errors';
import { logger } from '../core/logger';

/** An author is a nicety: a slow CodeCommit must not hold up the message. */
const REQUEST_TIMEOUT_MS = 5_000;
const MAX_ATTEMPTS = 2;
const MAX_AUTHOR_LENGTH = 100;

const clients = new Map<string, CodeCommitClient>();
function codecommit(region: string | undefined): CodeCommitClient {
  const key = region ?? '';
  let client = clients.get(key);
  if (!client) {
    client = new CodeCommitClient({
      region,
      maxAttempts: MAX_ATTEMPTS,
      // Without throwOnRequestTimeout the SDK only warns about a slow answer and keeps waiting.
      requestHandler: { requestTimeout: REQUEST_TIMEOUT_MS, connectionTimeout: REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
    });
    clients.set(key, client);
  }
  return client;
}

/**
 * Adds the author to each revision from one of the configured CodeCommit repositories, read with
 * GetCommit (CodePipeline does not report authors). Revisions from other repositories are left as
 * they are; a failed lookup leaves its author out and sets `unread`.
 */
export async function withCommitAuthors(revisions: readonly Revision[], repositories: readonly CodeCommitRepository[] | undefined)
  : Promise<{ revisions: Revision[]; unread: boolean }> {
  let unread = false;
  const looked = await Promise.all(revisions.map(async revision => {
    const repository = repositories?.find(r => r.name === revision.codeCommitRepository);
    if (!repository || !revision.revisionId) return revision;
    try {
      const author = await readAuthor(repository, revision.revisionId);
      return author ? { ...revision, author } : revision;
    } catch (err) {
      unread = true;
      // Ids only: the commit's message, author and content stay out of the logs.
      logger.warn('CodeCommit GetCommit failed; the message leaves the author out',
        { repository: repository.name, commitId: revision.revisionId, error: reasonOf(err) });
      return revision;
    }
  }));
  return { revisions: looked, unread };
}

async function readAuthor(repository: CodeCommitRepository, commitId: string): Promise<string | undefined> {
  const out = await codecommit(regionOf(repository.arn)).send(new GetCommitCommand({ repositoryName: repository.name, commitId }));
  const author = out.commit?.author;
  const name = author?.name?.trim() || author?.email?.trim();
  return name ? name.slice(0, MAX_AUTHOR_LENGTH) : undefined;
}

/** The region in a repository ARN (`arn:aws:codecommit:<region>:<account>:<name>`); GetCommit is called there. */
function regionOf(arn: string): string | undefined {
  return arn.split(':')[3] || undefined;
}

/** For tests: forget the cached clients, like a cold start. */
export function resetCommitAuthorClients(): void {
  clients.clear();
}
