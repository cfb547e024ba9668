import { REQUEST_TIMEOUT_MS } from '../core/aws-clients';

/*
 * The function's time, so that the job always gets its result (the function runs up to 2 minutes):
 *
 *   start ── details (job, execution, authors) ── webhook and post ── report the job result ── end
 *            at most DETAILS_LIMIT_MS             until postDeadline   REPORT_LIMIT_MS
 *
 * Each AWS call is bounded by CALL_LIMIT_MS, whatever the SDK's own request limits do: a call that
 * has not answered by then is abandoned (aborted), and the message goes out without what it
 * would have said. Slack posts stop at `postDeadline`, which keeps the report's time free.
 */

/** One AWS call, SDK retries included: three attempts of the request timeout, and their backoff. */
export const CALL_LIMIT_MS = 3 * REQUEST_TIMEOUT_MS + 1_000;
/** Reading what a message says; the message goes out with what was read by then. */
export const DETAILS_LIMIT_MS = 2 * CALL_LIMIT_MS;
/** Reporting the job result: a success, then a failure if CodePipeline refuses the success. */
export const REPORT_LIMIT_MS = 2 * CALL_LIMIT_MS;
/** Kept free at the end of the function's time: Lambda's own bookkeeping. */
const MARGIN_MS = 2_000;
/** The function's time when Lambda gives none (tests). */
const DEFAULT_TIME_MS = 60_000;

/** The instants an invocation works to, from the function's remaining time. */
export interface Clock {
  /** When the function's time runs out (less a margin). */
  readonly end: number;
  /** Reads of the message's details stop here. */
  readonly detailsDeadline: number;
  /** Webhook reads and Slack posts stop here, leaving the report its time. */
  readonly postDeadline: number;
}

/** The instants of an invocation; a function with less time than the limits assume gives the posts half of it. */
export function clockOf(remainingMs: number | undefined, now = Date.now()): Clock {
  const end = now + Math.max(1_000, (remainingMs ?? DEFAULT_TIME_MS) - MARGIN_MS);
  const postDeadline = Math.max(now + (end - now) / 2, end - REPORT_LIMIT_MS);
  return { end, postDeadline, detailsDeadline: Math.min(now + DETAILS_LIMIT_MS, postDeadline) };
}

/** An error for a call abandoned at its time limit. */
export class CallTimeoutError extends Error {
  public override readonly name = 'CallTimeoutError';
}

/**
 * Runs one call with an abort signal that fires at `until` or after CALL_LIMIT_MS, whichever comes
 * first, and settles by then even if the call ignores the signal.
 */
export function bounded<T>(what: string, until: number, call: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  return withTimeLimit(Math.min(CALL_LIMIT_MS, until - Date.now()), () => new CallTimeoutError(`${what} did not answer in time`), call);
}

/** Runs `work`, or rejects with `timeoutError()` (and aborts the work's signal) once `ms` have passed. */
export function withTimeLimit<T>(ms: number, timeoutError: () => Error, work: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = timeoutError();
      controller.abort(error);
      reject(error);
    }, Math.max(0, ms));
  });
  const running = (async () => work(controller.signal))();
  return Promise.race([running, timedOut]).finally(() => clearTimeout(timer));
}
