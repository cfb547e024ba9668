import { z } from 'zod/v3';

/** EC2 (`i-` and 8 or 17 hex digits) and hybrid managed (`mi-` and 17 hex digits) instance ids. */
export const INSTANCE_ID = /^(i-([0-9a-f]{8}|[0-9a-f]{17})|mi-[0-9a-f]{17})$/;

/** SendCommand accepts at most this many instance ids. */
export const MAX_INSTANCE_IDS = 50;

const instanceId = z.string().regex(INSTANCE_ID, 'expected an instance id like i-0123456789abcdef0 or mi-0123456789abcdef0');
const tagValues = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .transform(v => (Array.isArray(v) ? v : [v]));

/** Where a run sends its command: exactly one of instance ids, tags or a resource group. */
export const TargetsSchema = z.object({
  instanceIds: z.array(instanceId).min(1).max(MAX_INSTANCE_IDS).optional(),
  tags: z.record(z.string().min(1), tagValues).optional(),
  resourceGroup: z.string().min(1).optional(),
}).strict().refine(
  t => [t.instanceIds, t.tags, t.resourceGroup].filter(v => v !== undefined).length === 1,
  'expected exactly one of `instanceIds`, `tags`, `resourceGroup`',
).refine(t => t.tags === undefined || Object.keys(t.tags).length > 0, 'expected at least one tag');

export type Targets = z.infer<typeof TargetsSchema>;

/** A short description for messages, e.g. "tags Env=prod,stage; Role=web". */
export function describeTargets(targets: Targets): string {
  if (targets.instanceIds) return `instances ${targets.instanceIds.join(', ')}`;
  if (targets.tags) return `tags ${Object.entries(targets.tags).map(([k, v]) => `${k}=${v.join(',')}`).join('; ')}`;
  return `resource group ${targets.resourceGroup}`;
}
