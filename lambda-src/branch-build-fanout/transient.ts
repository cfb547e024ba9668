import { InputError } from '../core/errors';

/** Errors that say "not now": the call can succeed later. */
const THROTTLING = new Set([
  'ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded', 'RequestThrottled',
  'RequestThrottledException', 'ProvisionedThroughputExceededException', 'LimitExceededException',
  // CodeBuild: "Cannot have more than N builds in queue for the account".
  'AccountLimitExceededException',
  'ConcurrentModificationException', 'TransactionConflictException',
]);
const NETWORK = /socket hang up|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|ENOTFOUND/;

/**
 * Whether an error is transient: throttling and quotas, 5xx answers, and calls that got no answer
 * (timeouts, dropped connections). Everything else (malformed input, a target that is gone, access
 * denied) can never succeed by waiting.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof InputError || !(err instanceof Error)) return false;
  const e = err as Error & { $metadata?: { httpStatusCode?: number }; code?: string };
  if (THROTTLING.has(e.name)) return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number') return status >= 500 || status === 429;
  return e.name === 'TimeoutError' || e.name === 'AbortError' || NETWORK.test(`${e.code ?? ''} ${e.message}`);
}
