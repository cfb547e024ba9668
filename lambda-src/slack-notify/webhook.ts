import { lookup } from 'dns/promises';
import { BlockList, isIP } from 'net';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { WebhookSource } from './config';
import { rememberWebhook } from './redact';
import { bounded } from './time-limits';
import { awsClient } from '../core/aws-clients';
import { InputError } from '../core/errors';

/** How long a webhook read from Secrets Manager or SSM is reused by a warm container. */
const CACHE_TTL_MS = 10 * 60 * 1000;
/** Slack's incoming-webhook hosts: the only ones a webhook may point at without `allowedWebhookHosts`. */
export const SLACK_WEBHOOK_HOSTS = ['hooks.slack.com', 'hooks.slack-gov.com'];
/**
 * The one exception to the host rules: plain `http` to the loopback address itself, used by the
 * tests' local Slack server. Such a request never leaves the host, and nothing listens on loopback
 * in Lambda, so it cannot carry a message anywhere.
 */
const LOOPBACK_HTTP_HOSTS = new Set(['127.0.0.1', '[::1]']);

const cache = new Map<string, { url: URL; expires: number }>();

/** Where a webhook is kept, for messages (an ARN or parameter name, never the URL). */
export function describeSource(source: WebhookSource): string {
  return 'secretArn' in source
    ? `secret ${source.secretArn}${source.jsonField ? ` (field \`${source.jsonField}\`)` : ''}`
    : `parameter ${source.parameterName}`;
}

function keyOf(source: WebhookSource): string {
  return JSON.stringify(source);
}

/**
 * The webhook URL of a channel, read at run time (the read gives up at `until`) and cached per
 * container. It must pass the host rules (`checkWebhookUrl`) before anything connects to it. Errors
 * name where the webhook is kept but never contain its value.
 */
export async function resolveWebhook(source: WebhookSource, allowedHosts: readonly string[], until: number, now = Date.now()): Promise<URL> {
  const key = keyOf(source);
  const hit = cache.get(key);
  if (hit && hit.expires > now) return hit.url;
  const value = await readValue(source, until);
  rememberWebhook(value);
  const url = parseWebhookUrl(value, source, allowedHosts);
  cache.set(key, { url, expires: now + CACHE_TTL_MS });
  return url;
}

/** Drops a cached webhook, e.g. after Slack rejected it (it may have been rotated). */
export function forgetWebhook(source: WebhookSource): void {
  cache.delete(keyOf(source));
}

async function readValue(source: WebhookSource, until: number): Promise<string> {
  if ('parameterName' in source) {
    const out = await bounded('SSM GetParameter', until, abortSignal =>
      awsClient(SSMClient).send(new GetParameterCommand({ Name: source.parameterName, WithDecryption: true }), { abortSignal }));
    const value = out.Parameter?.Value;
    if (!value) throw new InputError(`${describeSource(source)} has no value`);
    return value;
  }
  const out = await bounded('Secrets Manager GetSecretValue', until, abortSignal =>
    awsClient(SecretsManagerClient).send(new GetSecretValueCommand({ SecretId: source.secretArn }), { abortSignal }));
  const text = out.SecretString;
  if (!text) throw new InputError(`${describeSource(source)} has no string value`);
  if (!source.jsonField) return text;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InputError(`${describeSource(source)} is not a JSON object`);
  }
  const value = typeof json === 'object' && json !== null ? (json as Record<string, unknown>)[source.jsonField] : undefined;
  if (typeof value !== 'string' || value === '') {
    throw new InputError(`${describeSource(source)} has no string field \`${source.jsonField}\``);
  }
  // The secret may hold other channels' webhooks too: none of them may show either.
  for (const field of Object.values(json as Record<string, unknown>)) if (typeof field === 'string') rememberWebhook(field);
  return value;
}

/**
 * Parses a webhook and applies the host rules: an `https` URL without credentials, on a host name
 * (no IP address) that is one of Slack's webhook hosts or in `allowedHosts`. The one exception is
 * `http` to the loopback address (see LOOPBACK_HTTP_HOSTS).
 */
export function parseWebhookUrl(value: string, source: WebhookSource, allowedHosts: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new InputError(`the webhook in ${describeSource(source)} is not a URL`);
  }
  if (url.protocol === 'http:' && LOOPBACK_HTTP_HOSTS.has(url.hostname) && !url.username && !url.password) return url;
  const where = `the webhook in ${describeSource(source)}`;
  if (url.protocol !== 'https:') throw new InputError(`${where} must be an https URL`);
  if (url.username || url.password) throw new InputError(`${where} must not contain a user name or password`);
  const host = hostOf(url);
  if (isIP(host.replace(/^\[|\]$/g, ''))) throw new InputError(`${where} must name a host, not an IP address (${host})`);
  const allowed = [...SLACK_WEBHOOK_HOSTS, ...allowedHosts];
  if (!allowed.includes(host)) {
    throw new InputError(`${where} must be on one of the allowed webhook hosts (${allowed.join(', ')}), got host ${host}: `
      + 'allow another host with the `allowedWebhookHosts` prop');
  }
  return url;
}

/** The URL's host name, lower case, without a trailing dot (`hooks.slack.com.` is `hooks.slack.com`). */
function hostOf(url: URL): string {
  return url.hostname.toLowerCase().replace(/\.$/, '');
}

/** Address ranges a webhook must never reach: private, shared, loopback, link-local (instance metadata), multicast, reserved. */
const FORBIDDEN_ADDRESSES = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) {
  FORBIDDEN_ADDRESSES.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 127], ['64:ff9b::', 96], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) {
  FORBIDDEN_ADDRESSES.addSubnet(network, prefix, 'ipv6');
}

function isForbidden(address: string, family: number): boolean {
  // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) has no business in a webhook host's answer.
  if (family === 6 && /^::ffff:/i.test(address)) return true;
  return FORBIDDEN_ADDRESSES.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

export type Lookup = (host: string) => Promise<Array<{ address: string; family: number }>>;
const systemLookup: Lookup = host => lookup(host, { all: true, verbatim: true });

/**
 * Resolves the webhook's host and refuses it when any of its addresses is private, loopback or
 * link-local, before anything connects (`fetch` resolves the name again: this check is against
 * a host that is misconfigured, not one whose DNS changes within milliseconds). The loopback
 * `http` exception is not resolved. Gives up at `until`.
 */
export async function checkWebhookAddress(url: URL, source: WebhookSource, until: number, resolve: Lookup = systemLookup): Promise<void> {
  if (url.protocol === 'http:') return;
  const host = hostOf(url);
  const addresses = await bounded(`resolving ${host}`, until, () => resolve(host));
  const forbidden = addresses.find(a => isForbidden(a.address, a.family));
  if (forbidden) {
    throw new InputError(`the webhook in ${describeSource(source)} must reach a public address: ${host} resolves to ${forbidden.address}`);
  }
}

/** For tests: forget cached webhooks, like a cold start. */
export function resetWebhookCache(): void {
  cache.clear();
}
