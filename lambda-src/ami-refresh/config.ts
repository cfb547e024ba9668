import { createHash } from 'crypto';
import { z } from 'zod/v3';

/** The stage's settings, written into its state machine by the construct and passed to every step. */
export const ConfigSchema = z.object({
  groupName: z.string().min(1),
  launchTemplateId: z.string().min(1),
  capture: z.enum(['standby', 'reboot', 'noReboot']),
  imageName: z.string().min(1),
  tags: z.record(z.string(), z.string()),
  stageTag: z.object({ key: z.string().min(1), value: z.string().min(1) }),
  imageTimeoutSeconds: z.number().int().positive(),
  copy: z.object({ kmsKeyArn: z.string().optional(), regions: z.array(z.string()) }),
  shareWithAccounts: z.array(z.string()),
  publish: z.object({ makeDefault: z.boolean(), updateGroup: z.boolean(), parameterName: z.string().optional() }),
  refresh: z.object({
    timeoutSeconds: z.number().int().positive(),
    pinVersion: z.boolean(),
    preferences: z.object({ AutoRollback: z.boolean() }).passthrough(),
  }).optional(),
  pruning: z.object({
    keep: z.number().int().positive().optional(),
    maxAgeSeconds: z.number().positive().optional(),
    includeShared: z.boolean(),
  }).optional(),
});
export type Config = z.infer<typeof ConfigSchema>;

/** What Prepare found: the instance to image and the version the group uses. */
export const BakeSchema = z.object({
  instanceId: z.string().min(1).optional(),
  imageName: z.string().min(1),
  existingImageId: z.string().optional(),
  sourceVersion: z.number().int().positive(),
  /** The version the group (or its mixed instances policy) names: a number, `$Latest` or `$Default`. */
  groupVersion: z.string(),
  mixedInstancesPolicy: z.boolean(),
  pipelineExecutionId: z.string().min(1),
  commitId: z.string(),
  /** The desired capacity to restore after ExitStandby, when EnterStandby could not lower it. */
  restoreDesiredCapacity: z.number().int().nonnegative().optional(),
});
export type Bake = z.infer<typeof BakeSchema>;

/** What the run started and cleanup must undo: the instance it put into Standby, the refresh it started. */
export interface AmiWork {
  readonly groupName: string;
  readonly instanceId?: string;
  readonly standby?: boolean;
  /** ExitStandby raises the desired capacity that EnterStandby kept: it goes back to this. */
  readonly restoreDesiredCapacity?: number;
  /** When the run first asked for its refresh: a retry or cleanup finds the refresh by it when its id was never answered. */
  readonly refreshRequestedAt?: string;
  readonly refreshId?: string;
  readonly autoRollback?: boolean;
}

/** A final failure with a message for CodePipeline: the state machine does not retry it. */
export class StageError extends Error {
  public override readonly name = 'StageError';
}

/** The instance is still entering Standby: the state machine tries again shortly. */
export class InstanceNotReady extends Error {
  public override readonly name = 'InstanceNotReady';
}

/** An image name is at most 128 characters; the encrypted copy's name adds `-encrypted`. */
const MAX_IMAGE_NAME = 128 - '-encrypted'.length;

/**
 * The image's name from the stage's pattern. A long group name is shortened (never the execution
 * id, which makes the name unique per execution); characters an image name may not hold become `-`.
 */
export function imageName(pattern: string, groupName: string, executionId: string): string {
  const withoutGroup = pattern.replace(/\{executionId\}/g, executionId);
  const groups = withoutGroup.split('{group}').length - 1;
  const room = groups ? Math.max(1, Math.floor((MAX_IMAGE_NAME - (withoutGroup.length - groups * '{group}'.length)) / groups)) : 0;
  return withoutGroup.replace(/\{group\}/g, groupName.slice(0, room)).replace(/[^A-Za-z0-9()[\] ./\-'@_]/g, '-');
}

/** A deterministic token for one publication, so that a retry makes no second version. */
export function clientToken(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 64);
}

/** An ISO timestamp `seconds` from now, for the state machine's deadline choices. */
export function isoIn(seconds: number): string {
  return new Date(Date.now() + seconds * 1000).toISOString();
}
