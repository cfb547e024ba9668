import { z } from 'zod/v3';
import { parseInput, parseJson } from '../core/input';

const targetSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('codebuild'), projectName: z.string().min(1) }),
  z.object({ type: z.literal('pipeline'), pipelineName: z.string().min(1), sourceActionName: z.string().min(1), branchVariable: z.string().min(1) }),
]);

const configSchema = z.object({
  repositories: z.array(z.string().min(1)).min(1),
  branches: z.array(z.string()).min(1),
  protectedBranches: z.array(z.string()),
  supersede: z.boolean(),
  stopOnBranchDeletion: z.boolean(),
  target: targetSchema,
  ledgerTable: z.string().min(1),
  intakeQueueUrl: z.string().url(),
  queueUrl: z.string().url(),
  deadLetterQueueUrl: z.string().url(),
  maxReceiveCount: z.number().int().min(1),
  retryBackoffSeconds: z.number().min(0),
});

export type FanoutConfig = z.infer<typeof configSchema>;
export type TargetConfig = FanoutConfig['target'];

let cached: { text: string; config: FanoutConfig } | undefined;

/** The construct's settings, from the function's FANOUT_CONFIG environment variable. */
export function fanoutConfig(): FanoutConfig {
  const text = process.env.FANOUT_CONFIG ?? '';
  if (cached?.text !== text) cached = { text, config: parseInput(configSchema, parseJson(text, 'FANOUT_CONFIG'), 'FANOUT_CONFIG') };
  return cached.config;
}
