/** Slack answers these in the body of a 4xx; retrying them cannot succeed. */
const REJECTED_WEBHOOK = new Set(['no_service', 'no_team', 'team_disabled', 'invalid_token', 'channel_not_found', 'channel_is_archived', 'action_prohibited']);
const MAX_RETRY_AFTER_MS = 30_000;
const BASE_BACKOFF_MS = 500;

export interface PostOptions {
  /** Timeout of one request. */
  readonly requestTimeoutMs: number;
  /** Attempts in all, including the first. */
  readonly maxAttempts: number;
  /** Epoch milliseconds after which no attempt starts and no wait is begun. */
  readonly deadline: number;
}

/** A Slack post that failed; the message never contains the webhook URL. */
export class SlackPostError extends Error {
  public override readonly name = 'SlackPostError';
  constructor(message: string, public readonly permanent: boolean, public readonly webhookRejected = false) {
    super(message);
  }
}

type Attempt = { ok: true } | { ok: false; retry: boolean; reason: string; waitMs?: number; webhookRejected?: boolean };

/**
 * Posts a message to a Slack incoming webhook. Honours 429 Retry-After; retries 5xx, timeouts and
 * network errors with exponential backoff and jitter; treats other 4xx answers (for example
 * `invalid_payload`, `no_service`) as permanent.
 */
export async function postToSlack(url: URL, payload: unknown, options: PostOptions): Promise<{ attempts: number }> {
  const body = JSON.stringify(payload);
  for (let attempt = 1; ; attempt++) {
    // Whole milliseconds: AbortSignal.timeout throws a RangeError for a fraction, and deadlines can carry one.
    const result = await postOnce(url, body, Math.min(options.requestTimeoutMs, Math.max(1, Math.floor(options.deadline - Date.now()))));
    if (result.ok) return { attempts: attempt };
    if (!result.retry) throw new SlackPostError(result.reason, true, result.webhookRejected);
    if (attempt >= options.maxAttempts) throw new SlackPostError(`${result.reason} (gave up after ${attempt} attempts)`, false);
    const waitMs = result.waitMs ?? backoff(attempt);
    if (Date.now() + waitMs >= options.deadline) {
      throw new SlackPostError(`${result.reason} (no time left to retry after ${attempt} attempts)`, false);
    }
    await new Promise(resolve => setTimeout(resolve, waitMs));
  }
}

function backoff(attempt: number): number {
  const ceiling = BASE_BACKOFF_MS * 2 ** (attempt - 1);
  return ceiling / 2 + Math.random() * ceiling / 2;
}

async function postOnce(url: URL, body: string, timeoutMs: number): Promise<Attempt> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = (await response.text()).trim();
  } catch (err) {
    return { ok: false, retry: true, reason: describeNetworkError(err, timeoutMs) };
  }
  if (response.ok) return { ok: true };
  const answer = text ? `${response.status} ${text.slice(0, 200)}` : `${response.status}`;
  if (response.status === 429) {
    return { ok: false, retry: true, reason: `Slack is rate limiting (${answer})`, waitMs: retryAfterMs(response.headers.get('retry-after')) };
  }
  if (response.status >= 500) return { ok: false, retry: true, reason: `Slack answered ${answer}` };
  return { ok: false, retry: false, reason: `Slack rejected the message: ${answer}`, webhookRejected: REJECTED_WEBHOOK.has(text) || response.status === 404 || response.status === 410 };
}

/** Retry-After in seconds (Slack's form) or an HTTP date; capped so one answer cannot stall the job. */
function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/** A reason without the URL (fetch's errors carry only a cause code, but be certain). */
function describeNetworkError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; cause?: { code?: string; name?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer from Slack within ${timeoutMs} ms`;
  const code = e?.cause?.code ?? e?.cause?.name ?? e?.name ?? 'unknown error';
  return `network error talking to Slack: ${code}`;
}
