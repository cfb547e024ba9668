import { CodeCommitClient, GetCommitCommand } from '@aws-sdk/client-codecommit';
import { CodeCommitRepository } from './config';
import { Revision } from './notification';
import { log } from './redact';
import { bounded } from './time-limits';
import { awsClient } from '../core/aws-clients';
import { reasonOf } from '../core/errors';

/** An author is a nicety: a slow CodeCommit must not hold up the message (2 attempts, not 3). */
const MAX_ATTEMPTS = 2;
const MAX_AUTHOR_LENGTH = 100;

/** The function's CodeCommit client: the repositories are in its region (checked at synth). */
const codecommit = () => awsClient(CodeCommitClient, { maxAttempts: MAX_ATTEMPTS });

/**
 * Adds the author to each revision from one of the configured CodeCommit repositories, read with
 * GetCommit (CodePipeline does not report authors). Revisions from other repositories are left as
 * they are; a failed lookup, or one not answered by `until`, leaves its author out and sets `unread`.
 */
export async function withCommitAuthors(revisions: readonly Revision[], repositories: readonly CodeCommitRepository[] | undefined, until: number)
  : Promise<{ revisions: Revision[]; unread: boolean }> {
  let unread = false;
  const looked = await Promise.all(revisions.map(async revision => {
    const repository = repositories?.find(r => r.name === revision.codeCommitRepository);
    if (!repository || !revision.revisionId) return revision;
    try {
      const author = await readAuthor(repository, revision.revisionId, until);
      return author ? { ...revision, author } : revision;
    } catch (err) {
      unread = true;
      // Ids only: the commit's message, author and content stay out of the logs.
      log.warn('CodeCommit GetCommit failed; the message leaves the author out',
        { repository: repository.name, commitId: revision.revisionId.slice(0, 100), error: reasonOf(err) });
      return revision;
    }
  }));
  return { revisions: looked, unread };
}

async function readAuthor(repository: CodeCommitRepository, commitId: string, until: number): Promise<string | undefined> {
  const out = await bounded('CodeCommit GetCommit', until, abortSignal =>
    codecommit().send(new GetCommitCommand({ repositoryName: repository.name, commitId }), { abortSignal }));
  const author = out.commit?.author;
  const name = author?.name?.trim() || author?.email?.trim();
  return name ? name.slice(0, MAX_AUTHOR_LENGTH) : undefined;
}
