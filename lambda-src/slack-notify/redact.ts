import { InputError } from '../core/errors';
import { logger } from '../core/logger';

/*
 * A webhook URL is a secret: whoever has it can post to the channel, and the path of a Slack
 * webhook is its token. Every text that leaves the function (log lines, the job's summary or failure
 * message, errors thrown to Lambda) goes through `redact`, which removes:
 * - every webhook the function read in this container, whole or in part (the path, its tail, the
 *   token, in plain, encoded and decoded form), so an error body that echoes the request path is
 *   caught whatever the host;
 * - anything shaped like a Slack webhook (`hooks.slack.com/...`, `/services/T.../B.../...`), even one
 *   this container never read.
 */

export const REDACTED = '[webhook redacted]';

/** Parts shorter than this are not redacted: they would blank out common words, and they identify nothing. */
const MIN_PART_LENGTH = 8;
const SLACK_WEBHOOK_URL = /https?:\/\/hooks\.slack(?:-gov)?\.com\/[^\s"'<>`]*/gi;
const SLACK_WEBHOOK_PATH = /\/?services\/[A-Za-z0-9_-]+\/[A-Za-z0-9_-]+\/[A-Za-z0-9_-]+/g;

/** Secret parts, longest first, so that a whole URL is replaced before its path. */
let secrets: string[] = [];

/** Remembers a value read from a webhook's secret or parameter, so that no text shows it or a part of it. */
export function rememberWebhook(value: string): void {
  const parts = new Set<string>([value, value.trim()]);
  let url: URL | undefined;
  try {
    url = new URL(value.trim());
  } catch {
    // Not a URL: the value as a whole is remembered.
  }
  if (url) {
    const segments = url.pathname.split('/').filter(Boolean);
    parts.add(url.href);
    parts.add(url.href.replace(/\/$/, ''));
    parts.add(`${url.host}${url.pathname}`);
    parts.add(`${url.pathname}${url.search}`);
    parts.add(url.pathname);
    parts.add(url.search.slice(1));
    // Every tail of the path: `T000/B000/token`, `B000/token`, `token`.
    for (let i = 1; i < segments.length; i++) parts.add(segments.slice(i).join('/'));
    parts.add(segments[segments.length - 1] ?? '');
  }
  for (const part of [...parts]) {
    parts.add(encodeURIComponent(part));
    parts.add(safeDecode(part));
  }
  secrets = [...new Set([...secrets, ...parts])].filter(p => p.length >= MIN_PART_LENGTH).sort((a, b) => b.length - a.length);
}

/** The text without any webhook (see above). */
export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join(REDACTED);
  return out.replace(SLACK_WEBHOOK_URL, REDACTED).replace(SLACK_WEBHOOK_PATH, REDACTED);
}

/** An error that is safe to throw (Lambda logs it): the same name (and InputError class), the message redacted, the stack's frames only. */
export function redactError(err: unknown): Error {
  const original = err instanceof Error ? err : new Error(String(err));
  const safe = original instanceof InputError ? new InputError(redact(original.message)) : new Error(redact(original.message));
  if (!(safe instanceof InputError)) safe.name = original.name || 'Error';
  safe.stack = `${safe.name}: ${safe.message}${redact((original.stack ?? '').split('\n').filter(line => /^\s+at /.test(line)).map(l => `\n${l}`).join(''))}`;
  return safe;
}

type Attributes = Record<string, unknown>;

function redactValue(value: unknown): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map(redactValue);
  if (value instanceof Error) return redact(`${value.name}: ${value.message}`);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v)]));
  return value;
}

/** The shared logger, with every message and attribute redacted. */
export const log = {
  info: (message: string, attributes?: Attributes) => logger.info(redact(message), redactValue(attributes ?? {}) as Attributes),
  warn: (message: string, attributes?: Attributes) => logger.warn(redact(message), redactValue(attributes ?? {}) as Attributes),
  error: (message: string, attributes?: Attributes) => logger.error(redact(message), redactValue(attributes ?? {}) as Attributes),
};

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** For tests: forget the remembered webhooks, like a cold start. */
export function forgetRememberedWebhooks(): void {
  secrets = [];
}
