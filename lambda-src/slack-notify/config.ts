import { z } from 'zod/v3';
import { InputError } from '../core/errors';
import { parseInput, parseJson } from '../core/input';

/** What a notification says about the pipeline; channels subscribe to outcomes. */
export const OUTCOMES = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'APPROVAL'] as const;
export type Outcome = typeof OUTCOMES[number];

const webhookSourceSchema = z.union([
  z.strictObject({ secretArn: z.string().min(1), jsonField: z.string().min(1).optional() }),
  z.strictObject({ parameterName: z.string().min(1) }),
]);
export type WebhookSource = z.infer<typeof webhookSourceSchema>;

const channelSchema = z.strictObject({
  name: z.string().min(1),
  webhook: webhookSourceSchema,
  outcomes: z.array(z.enum(OUTCOMES)).min(1),
});
export type ChannelConfig = z.infer<typeof channelSchema>;

/** A CodeCommit repository whose commits' authors the function may read (GetCommit). */
const codeCommitRepositorySchema = z.strictObject({ name: z.string().min(1), arn: z.string().min(1) });
export type CodeCommitRepository = z.infer<typeof codeCommitRepositorySchema>;

const notifierConfigSchema = z.strictObject({
  channels: z.array(channelSchema).min(1),
  codeCommitRepositories: z.array(codeCommitRepositorySchema).optional(),
  /** Text added to event notifications (no CodePipeline variables there). */
  eventText: z.string().optional(),
  /** Hosts besides Slack's own that webhooks may point at (the `allowedWebhookHosts` prop). */
  allowedWebhookHosts: z.array(z.string().min(1)).optional(),
  requestTimeoutMs: z.number().int().positive(),
  maxAttempts: z.number().int().min(1).max(10),
});
export type NotifierConfig = z.infer<typeof notifierConfigSchema>;

/** The environment variable the construct sets: webhook locations (never the URLs) and routing. */
export const CONFIG_ENV = 'SLACK_NOTIFY_CONFIG';

let cachedConfig: { raw: string; config: NotifierConfig } | undefined;

/** Reads the notifier's configuration from the function's environment. */
export function notifierConfig(): NotifierConfig {
  const raw = process.env[CONFIG_ENV];
  if (!raw) throw new InputError(`the function's \`${CONFIG_ENV}\` environment variable is missing`);
  if (cachedConfig?.raw !== raw) {
    cachedConfig = { raw, config: parseInput(notifierConfigSchema, parseJson(raw, CONFIG_ENV), CONFIG_ENV) };
  }
  return cachedConfig.config;
}

const actionSettingsSchema = z.strictObject({
  v: z.literal(1),
  failOnError: z.boolean(),
  executionId: z.string().optional(),
});

/** The settings of one notify action, from its user parameters. */
export interface ActionSettings {
  readonly failOnError: boolean;
  readonly executionId?: string;
  /** The user's text with CodePipeline variables already resolved. */
  readonly text?: string;
}

/**
 * Parses the action's user parameters: a JSON settings line, then the user's text verbatim.
 * The text is kept out of the JSON because CodePipeline substitutes variables without escaping
 * them, and a commit message with a quote would otherwise break the JSON.
 */
export function parseUserParameters(userParameters: string | undefined): ActionSettings {
  if (userParameters === undefined || userParameters.trim() === '') {
    throw new InputError('the action\'s user parameters are missing: expected a JSON settings line');
  }
  const newline = userParameters.indexOf('\n');
  const header = newline === -1 ? userParameters : userParameters.slice(0, newline);
  const text = newline === -1 ? undefined : userParameters.slice(newline + 1);
  const settings = parseInput(actionSettingsSchema, parseJson(header, 'the action\'s user parameters'), 'the action\'s user parameters');
  return { failOnError: settings.failOnError, executionId: settings.executionId, text: text?.trim() ? text : undefined };
}
