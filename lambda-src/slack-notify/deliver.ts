import { ChannelConfig, NotifierConfig, Outcome } from './config';
import { SlackMessage } from './message';
import { log, redact } from './redact';
import { postToSlack, SlackPostError } from './slack-client';
import { checkWebhookAddress, describeSource, forgetWebhook, resolveWebhook } from './webhook';
import { reasonOf } from '../core/errors';

/** What happened to a message in each channel it was routed to. */
export interface Delivery {
  readonly posted: string[];
  readonly failed: Array<{ readonly channel: string; readonly reason: string }>;
}

/** The channels that receive notifications of an outcome. */
export function channelsFor(config: NotifierConfig, outcome: Outcome): ChannelConfig[] {
  return config.channels.filter(c => c.outcomes.includes(outcome));
}

/*
 * The channels this container has posted to, per job or event. Lambda runs a job or event again
 * when an invocation failed (a job result CodePipeline did not answer, a failed post in event
 * mode); the retry usually lands in the same warm container, which then posts only to the channels
 * that did not get the message. A delivery of the same job or event that arrives while the first
 * one is posting waits for it. Kept for Lambda's longest retry window (6 hours).
 */
const RECORD_TTL_MS = 6 * 60 * 60 * 1000;
const MAX_RECORDS = 500;
const postedTo = new Map<string, { channels: Set<string>; expires: number }>();
const inFlight = new Map<string, Promise<Delivery>>();

function recordPost(key: string, channel: string): void {
  const record = postedTo.get(key) ?? { channels: new Set<string>(), expires: Date.now() + RECORD_TTL_MS };
  record.channels.add(channel);
  postedTo.delete(key);
  postedTo.set(key, record);
  for (const [oldest, { expires }] of postedTo) {
    if (postedTo.size <= MAX_RECORDS && expires > Date.now()) break;
    postedTo.delete(oldest);
  }
}

function alreadyPosted(key: string | undefined, channel: string): boolean {
  const record = key ? postedTo.get(key) : undefined;
  return !!record && record.expires > Date.now() && record.channels.has(channel);
}

/**
 * Posts a message to each channel in parallel; a channel's failure never stops the others. `key`
 * names the job or event: a channel that already received it from this container is not posted
 * to again. Reasons are redacted (no webhook in them).
 */
export function deliver(channels: ChannelConfig[], message: SlackMessage, config: NotifierConfig, deadline: number, key?: string): Promise<Delivery> {
  if (!key) return deliverNow(channels, message, config, deadline);
  const previous = inFlight.get(key);
  const next = (previous ?? Promise.resolve()).catch(() => undefined).then(() => deliverNow(channels, message, config, deadline, key));
  inFlight.set(key, next);
  return next.finally(() => {
    if (inFlight.get(key) === next) inFlight.delete(key);
  });
}

async function deliverNow(channels: ChannelConfig[], message: SlackMessage, config: NotifierConfig, deadline: number, key?: string)
  : Promise<Delivery> {
  const results = await Promise.all(channels.map(async channel => {
    if (alreadyPosted(key, channel.name)) {
      log.info('this container already posted the message to the channel; not posting it again', { channel: channel.name });
      return { channel: channel.name };
    }
    const result = await deliverTo(channel, message, config, deadline);
    if (key && result.reason === undefined) recordPost(key, channel.name);
    return result;
  }));
  return {
    posted: results.filter(r => r.reason === undefined).map(r => r.channel),
    failed: results.filter((r): r is { channel: string; reason: string } => r.reason !== undefined),
  };
}

async function deliverTo(channel: ChannelConfig, message: SlackMessage, config: NotifierConfig, deadline: number)
  : Promise<{ channel: string; reason?: string }> {
  let url: URL;
  try {
    url = await resolveWebhook(channel.webhook, config.allowedWebhookHosts ?? [], deadline);
  } catch (err) {
    const reason = redact(`could not read the webhook from ${describeSource(channel.webhook)}: ${reasonOf(err)}`);
    log.error('reading the webhook failed', { channel: channel.name, reason });
    return { channel: channel.name, reason };
  }
  try {
    // After reading the webhook, before connecting to it.
    await checkWebhookAddress(url, channel.webhook, deadline);
  } catch (err) {
    const reason = redact(reasonOf(err));
    log.error('the webhook was refused', { channel: channel.name, reason });
    return { channel: channel.name, reason };
  }
  try {
    const { attempts } = await postToSlack(url, message, { requestTimeoutMs: config.requestTimeoutMs, maxAttempts: config.maxAttempts, deadline });
    log.info('posted to Slack', { channel: channel.name, attempts });
    return { channel: channel.name };
  } catch (err) {
    // Slack refusing the webhook itself may mean it was replaced: read it again next time.
    if (err instanceof SlackPostError && err.webhookRejected) forgetWebhook(channel.webhook);
    const reason = redact(err instanceof SlackPostError ? err.message : reasonOf(err));
    log.error('posting to Slack failed', { channel: channel.name, reason });
    return { channel: channel.name, reason };
  }
}

/** One line about a delivery, for a job summary or an error; never a webhook. */
export function describeDelivery(delivery: Delivery): string {
  const parts: string[] = [];
  if (delivery.posted.length) parts.push(`posted to ${delivery.posted.join(', ')}`);
  for (const f of delivery.failed) parts.push(`posting to ${f.channel} failed: ${f.reason}`);
  return redact(parts.join('; '));
}

/** For tests: forget what this container posted, like a cold start. */
export function resetDeliveryRecord(): void {
  postedTo.clear();
  inFlight.clear();
}
