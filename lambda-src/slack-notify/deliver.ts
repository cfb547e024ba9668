import { ChannelConfig, NotifierConfig, Outcome } from './config';
import { SlackMessage } from './message';
import { postToSlack, SlackPostError } from './slack-client';
import { describeSource, forgetWebhook, resolveWebhook } from './webhook';
import { reasonOf } from '../core/errors';
import { logger } from '../core/logger';

/** What happened to a message in each channel it was routed to. */
export interface Delivery {
  readonly posted: string[];
  readonly failed: Array<{ readonly channel: string; readonly reason: string }>;
}

/** The channels that receive notifications of an outcome. */
export function channelsFor(config: NotifierConfig, outcome: Outcome): ChannelConfig[] {
  return config.channels.filter(c => c.outcomes.includes(outcome));
}

/** Posts a message to each channel in parallel; a channel's failure never stops the others. */
export async function deliver(channels: ChannelConfig[], message: SlackMessage, config: NotifierConfig, deadline: number): Promise<Delivery> {
  const results = await Promise.all(channels.map(channel => deliverTo(channel, message, config, deadline)));
  return {
    posted: results.filter(r => r.reason === undefined).map(r => r.channel),
    failed: results.filter((r): r is { channel: string; reason: string } => r.reason !== undefined),
  };
}

async function deliverTo(channel: ChannelConfig, message: SlackMessage, config: NotifierConfig, deadline: number)
  : Promise<{ channel: string; reason?: string }> {
  let url: URL;
  try {
    url = await resolveWebhook(channel.webhook);
  } catch (err) {
    const reason = `could not read the webhook from ${describeSource(channel.webhook)}: ${reasonOf(err)}`;
    logger.error('reading the webhook failed', { channel: channel.name, reason });
    return { channel: channel.name, reason };
  }
  try {
    const { attempts } = await postToSlack(url, message, { requestTimeoutMs: config.requestTimeoutMs, maxAttempts: config.maxAttempts, deadline });
    logger.info('posted to Slack', { channel: channel.name, attempts });
    return { channel: channel.name };
  } catch (err) {
    // Slack refusing the webhook itself may mean it was replaced: read it again next time.
    if (err instanceof SlackPostError && err.webhookRejected) forgetWebhook(channel.webhook);
    const reason = err instanceof SlackPostError ? err.message : reasonOf(err);
    logger.error('posting to Slack failed', { channel: channel.name, reason });
    return { channel: channel.name, reason };
  }
}

/** One line about a delivery, for a job summary or an error. */
export function describeDelivery(delivery: Delivery): string {
  const parts: string[] = [];
  if (delivery.posted.length) parts.push(`posted to ${delivery.posted.join(', ')}`);
  for (const f of delivery.failed) parts.push(`posting to ${f.channel} failed: ${f.reason}`);
  return parts.join('; ');
}
