import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { WebhookSource } from './config';
import { InputError } from '../core/errors';

/** How long a webhook read from Secrets Manager or SSM is reused by a warm container. */
const CACHE_TTL_MS = 10 * 60 * 1000;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

let secretsClient: SecretsManagerClient | undefined;
let ssmClient: SSMClient | undefined;
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
 * The webhook URL of a channel, read at run time and cached per container. Errors name where
 * the webhook is kept but never contain its value.
 */
export async function resolveWebhook(source: WebhookSource, now = Date.now()): Promise<URL> {
  const key = keyOf(source);
  const hit = cache.get(key);
  if (hit && hit.expires > now) return hit.url;
  const url = parseWebhookUrl(await readValue(source), source);
  cache.set(key, { url, expires: now + CACHE_TTL_MS });
  return url;
}

/** Drops a cached webhook, e.g. after Slack rejected it (it may have been rotated). */
export function forgetWebhook(source: WebhookSource): void {
  cache.delete(keyOf(source));
}

async function readValue(source: WebhookSource): Promise<string> {
  if ('parameterName' in source) {
    ssmClient ??= new SSMClient({});
    const out = await ssmClient.send(new GetParameterCommand({ Name: source.parameterName, WithDecryption: true }));
    const value = out.Parameter?.Value;
    if (!value) throw new InputError(`${describeSource(source)} has no value`);
    return value;
  }
  secretsClient ??= new SecretsManagerClient({});
  const out = await secretsClient.send(new GetSecretValueCommand({ SecretId: source.secretArn }));
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
  return value;
}

/**
 * Accepts an https URL, or an http URL to a loopback address: a loopback request never leaves
 * the host, and nothing listens on loopback in Lambda, so this exception cannot send a message
 * over the network in clear text.
 */
export function parseWebhookUrl(value: string, source: WebhookSource): URL {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new InputError(`the webhook in ${describeSource(source)} is not a URL`);
  }
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
  if (!secure) throw new InputError(`the webhook in ${describeSource(source)} must be an https URL`);
  return url;
}

/** For tests: forget cached webhooks and clients, like a cold start. */
export function resetWebhookCache(): void {
  cache.clear();
  secretsClient = undefined;
  ssmClient = undefined;
}
