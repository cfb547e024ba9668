import { createHash } from 'crypto';
import { z } from 'zod/v3';
import { InputError } from '../core/errors';
import { parseInput, parseJson } from '../core/input';

/*
 * The messages of the dispatch queue: one message group per repository and branch (pushes to a
 * branch stay in order, branches run in parallel), deduplicated by repository, branch and commit.
 */

const REPOSITORY = /^[\w.-]{1,100}$/;
const COMMIT = /^[0-9a-f]{40}$/;
const MAX_BODY = 4096;

const pushSchema = z.object({
  kind: z.enum(['push', 'deleted']),
  repository: z.string().regex(REPOSITORY),
  branch: z.string().min(1).max(256),
  commit: z.string().regex(COMMIT),
  /** When the push happened (the event's time), or when the sweep found it. */
  pushedAt: z.string().datetime({ offset: true }),
  source: z.enum(['event', 'sweep']),
}).strict();

export type BranchMessage = z.infer<typeof pushSchema>;

/** Reads a dispatch message; a malformed one is an InputError (it can never succeed). */
export function parseMessage(body: string): BranchMessage {
  if (body.length > MAX_BODY) throw new InputError(`dispatch message is invalid: ${body.length} characters, at most ${MAX_BODY}`);
  return parseInput(pushSchema, parseJson(body, 'dispatch message'), 'dispatch message');
}

function sha256(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex');
}

/** The message group of a repository's branch. */
export function groupIdOf(repository: string, branch: string): string {
  return sha256(repository, branch);
}

/** The deduplication id: one message per (repository, branch, commit) and kind. */
export function deduplicationIdOf(message: BranchMessage): string {
  return sha256(message.kind, message.repository, message.branch, message.commit);
}

/** The token that makes StartBuild and StartPipelineExecution idempotent for one push. */
export function idempotencyTokenOf(message: BranchMessage): string {
  return sha256(message.repository, message.branch, message.commit);
}
