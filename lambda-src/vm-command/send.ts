import { SendCommandCommand, SSMClient, Target } from '@aws-sdk/client-ssm';
import { z } from 'zod/v3';
import { findSentCommand, runComment } from './cancel';
import { CommandWork, recordCommand, recordIntent } from './command-table';
import { Targets, TargetsSchema } from './targets';
import { awsClient } from '../core/aws-clients';
import { InputError, reasonOf } from '../core/errors';
import { parseInput } from '../core/input';
import { getRun } from '../core/job-table';
import { logger } from '../core/logger';
import { isRefusal } from '../core/pipeline-job';

/*
 * The run's send step: sends the command. Instance-id targets are sent as InstanceIds; tag and
 * resource-group targets as SSM Targets, so rate control applies however large the group is.
 * Throttling surfaces as `ThrottlingException`, which the state machine retries.
 */

const EventSchema = z.object({
  runId: z.string().min(1),
  /** How often the state machine retried this step already. */
  retryCount: z.number().int().min(0).default(0),
  instanceIds: z.array(z.string()).min(1),
  targets: TargetsSchema,
  /** Per-run values: CodePipeline variables and the parameters file; they override `config.parameters`. */
  parameters: z.record(z.string(), z.array(z.string())),
  config: z.object({
    documentName: z.string().min(1),
    documentVersion: z.string().optional(),
    parameters: z.record(z.string(), z.array(z.string())),
    deliveryTimeoutSeconds: z.number().int().min(30),
    maxConcurrency: z.string(),
    maxErrors: z.string(),
    logGroupName: z.string().min(1),
    outputBucket: z.string().optional(),
    outputKeyPrefix: z.string().optional(),
    /** Shell and PowerShell documents take no custom parameters: the others become environment variables of the script. */
    script: z.enum(['shell', 'powerShell']).optional(),
    /** The first line of every script: the stage's event rule matches only commands that start with it. */
    marker: z.string().min(1),
  }),
});

// SendCommand is not idempotent: the SDK must never send it twice. A retry of the step looks for
// the run's command first (see `findSentCommand`).
const ssm = () => awsClient(SSMClient, { maxAttempts: 1 });

/** SendCommand got no clear answer (timeout, dropped connection, 5xx): the command may have been sent. */
export class SendCommandUncertain extends Error {
  public override readonly name = 'SendCommandUncertain';
}
/** The command was sent but not recorded: the retry finds it by its comment and records it. */
export class CommandNotRecorded extends Error {
  public override readonly name = 'CommandNotRecorded';
}

/**
 * Sends the run's command, at most once per run: the intent is recorded first, the command carries
 * the run in its comment, and a retry (the state machine's `retryCount`) adopts a command the run
 * already sent instead of sending another. Throttling and refusals keep their names; an unclear
 * answer is `SendCommandUncertain`; both are retried by the state machine.
 */
export async function send(event: unknown): Promise<{ commandId: string }> {
  const input = parseInput(EventSchema, event, 'send input');
  const { config, runId } = input;
  if (input.retryCount > 0) {
    const run = await getRun(runId);
    const work = run?.work as Partial<CommandWork> | undefined;
    const sent = work?.commandId ? { commandId: work.commandId } : work?.sentAfter
      ? await findSentCommand(runId, { documentName: config.documentName, sentAfter: work.sentAfter })
      : undefined;
    if (sent) {
      await record(runId, { documentName: config.documentName, sentAfter: work!.sentAfter! }, sent.commandId, input.instanceIds);
      logger.info('adopted the command the run had sent', { runId, commandId: sent.commandId });
      return { commandId: sent.commandId };
    }
  }
  // Built before anything is sent: a parameter that cannot be passed fails the run with its reason, untried.
  const parameters = documentParameters({ ...config.parameters, ...input.parameters }, config.script, `${config.marker}${runId}`);
  const intent = await recordIntent(runId, config.documentName);
  let commandId: string | undefined;
  try {
    const out = await ssm().send(new SendCommandCommand({
      DocumentName: config.documentName,
      DocumentVersion: config.documentVersion,
      Parameters: parameters,
      ...targeting(input.targets, input.instanceIds),
      TimeoutSeconds: config.deliveryTimeoutSeconds,
      MaxConcurrency: config.maxConcurrency,
      MaxErrors: config.maxErrors,
      Comment: runComment(runId),
      CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: config.logGroupName },
      OutputS3BucketName: config.outputBucket,
      OutputS3KeyPrefix: config.outputBucket ? config.outputKeyPrefix : undefined,
    }));
    commandId = out.Command?.CommandId;
  } catch (err) {
    if (isRefusal(err) || /Throttl/.test((err as Error).name)) throw err;
    throw new SendCommandUncertain(`SendCommand got no clear answer (${reasonOf(err)}); the retry looks for the run's command before sending`);
  }
  if (!commandId) throw new SendCommandUncertain('SendCommand answered without a command id');
  await record(runId, intent, commandId, input.instanceIds);
  logger.info('sent command', { runId, commandId, instanceIds: input.instanceIds });
  return { commandId };
}

async function record(runId: string, intent: CommandWork, commandId: string, instanceIds: string[]): Promise<void> {
  try {
    await recordCommand(runId, intent, commandId, instanceIds);
  } catch (err) {
    throw new CommandNotRecorded(`command ${commandId} was sent but not recorded (${reasonOf(err)}); the retry records it`);
  }
}

const SCRIPT_PARAMETERS = new Set(['commands', 'workingDirectory', 'executionTimeout']);
const ENVIRONMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * For scripts: the marker line first, then every parameter the document does not take as an
 * environment variable, then the commands. Values never become code: each is passed base64-encoded
 * (an alphabet without quotes or other special characters) and decoded by the script.
 */
function documentParameters(parameters: Record<string, string[]>, script: 'shell' | 'powerShell' | undefined, marker: string): Record<string, string[]> {
  if (!script) return parameters;
  const kept: Record<string, string[]> = {};
  const lines: string[] = [];
  for (const [name, values] of Object.entries(parameters)) {
    if (SCRIPT_PARAMETERS.has(name)) {
      kept[name] = values;
      continue;
    }
    if (!ENVIRONMENT_NAME.test(name)) throw new InputError(`parameter \`${name}\` cannot be an environment variable of the script (use letters, digits and _)`);
    const encoded = Buffer.from(values.join(script === 'shell' ? ' ' : ','), 'utf8').toString('base64');
    lines.push(script === 'shell'
      ? `export ${name}="$(printf %s '${encoded}' | base64 -d)"`
      : `$env:${name} = [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String('${encoded}'))`);
  }
  kept.commands = [marker, ...lines, ...(kept.commands ?? [])];
  return kept;
}

function targeting(targets: Targets, instanceIds: string[]): { InstanceIds?: string[]; Targets?: Target[] } {
  if (targets.tags) return { Targets: Object.entries(targets.tags).map(([key, values]) => ({ Key: `tag:${key}`, Values: values })) };
  if (targets.resourceGroup) return { Targets: [{ Key: 'resource-groups:Name', Values: [targets.resourceGroup] }] };
  return { InstanceIds: instanceIds };
}
