import { SendCommandCommand, SSMClient, Target } from '@aws-sdk/client-ssm';
import { z } from 'zod/v3';
import { awsClient } from '../core/aws-clients';
import { recordCommand } from './command-table';
import { Targets, TargetsSchema } from './targets';
import { InputError } from '../core/errors';
import { parseInput } from '../core/input';
import { logger } from '../core/logger';

/*
 * The run's send step: sends the command. Instance-id targets are sent as InstanceIds; tag and
 * resource-group targets as SSM Targets, so rate control applies however large the group is.
 * Throttling surfaces as `ThrottlingException`, which the state machine retries.
 */

const EventSchema = z.object({
  runId: z.string().min(1),
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

// SendCommand is not idempotent: the SDK must never send it twice (see `findRunCommand`).
const ssm = () => awsClient(SSMClient, { maxAttempts: 1 });

export async function send(event: unknown): Promise<{ commandId: string }> {
  const input = parseInput(EventSchema, event, 'send input');
  const { config } = input;
  const out = await ssm().send(new SendCommandCommand({
    DocumentName: config.documentName,
    DocumentVersion: config.documentVersion,
    Parameters: documentParameters({ ...config.parameters, ...input.parameters }, config.script, `${config.marker}${input.runId}`),
    ...targeting(input.targets, input.instanceIds),
    TimeoutSeconds: config.deliveryTimeoutSeconds,
    MaxConcurrency: config.maxConcurrency,
    MaxErrors: config.maxErrors,
    Comment: `run ${input.runId}`.slice(0, 100),
    CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: config.logGroupName },
    OutputS3BucketName: config.outputBucket,
    OutputS3KeyPrefix: config.outputBucket ? config.outputKeyPrefix : undefined,
  }));
  const commandId = out.Command?.CommandId;
  if (!commandId) throw new Error('SendCommand answered without a command id');
  await recordCommand(input.runId, commandId, input.instanceIds);
  logger.info('sent command', { runId: input.runId, commandId, instanceIds: input.instanceIds });
  return { commandId };
}

const SCRIPT_PARAMETERS = new Set(['commands', 'workingDirectory', 'executionTimeout']);
const ENVIRONMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * For scripts: the marker line first, then every parameter the document does not take as an
 * environment variable, then the commands.
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
    const value = values.join(script === 'shell' ? ' ' : ',');
    lines.push(script === 'shell'
      ? `export ${name}='${value.replace(/'/g, '\'\\\'\'')}'`
      : `$env:${name} = '${value.replace(/'/g, "''")}'`);
  }
  kept.commands = [marker, ...lines, ...(kept.commands ?? [])];
  return kept;
}

function targeting(targets: Targets, instanceIds: string[]): { InstanceIds?: string[]; Targets?: Target[] } {
  if (targets.tags) return { Targets: Object.entries(targets.tags).map(([key, values]) => ({ Key: `tag:${key}`, Values: values })) };
  if (targets.resourceGroup) return { Targets: [{ Key: 'resource-groups:Name', Values: [targets.resourceGroup] }] };
  return { InstanceIds: instanceIds };
}
