import { PIPELINE_OUTPUT_VARIABLES_MAX_BYTES, SFN_MAX_PAYLOAD_BYTES } from '../../src/core/private/quotas';

/*
 * What a run may carry. Step Functions fails an execution whose state passes 256 KiB with
 * `States.DataLimitExceeded`, which no Catch takes, so the run's state is budgeted in parts; and
 * CodePipeline refuses a result whose output variables pass 122,880 bytes together.
 */

/** UTF-8 bytes of a text, or of a value's JSON. */
export function bytesOf(value: unknown): number {
  return Buffer.byteLength(typeof value === 'string' ? value : JSON.stringify(value) ?? '', 'utf8');
}

/** The execution input's share of the run's state (the parameters file, variables, targets). */
export const RUN_INPUT_MAX_BYTES = SFN_MAX_PAYLOAD_BYTES / 4;

/**
 * Joins items with `separator` in at most `maxBytes`: the items that do not fit are left out, and
 * `marker(left)` (which must fit too) says how many.
 */
export function joinWithin(items: readonly string[], separator: string, maxBytes: number, marker: (left: number) => string): string {
  const whole = items.join(separator);
  if (bytesOf(whole) <= maxBytes) return whole;
  const kept: string[] = [];
  let size = bytesOf(marker(items.length));
  for (const item of items) {
    const more = bytesOf(item) + bytesOf(separator);
    if (size + more > maxBytes) break;
    kept.push(item);
    size += more;
  }
  return [...kept, marker(items.length - kept.length)].join(separator);
}

const CUT_MARKER = '...[cut]';

/** Cuts a text to at most `maxBytes` UTF-8 bytes, ending with a marker. */
function cutTo(text: string, maxBytes: number): string {
  const room = Math.max(0, maxBytes - bytesOf(CUT_MARKER));
  let head = Buffer.from(text, 'utf8').subarray(0, room).toString('utf8');
  // A character cut in two decodes as U+FFFD (3 bytes): drop it.
  while (bytesOf(head) > room) head = head.slice(0, -1);
  return `${head}${CUT_MARKER}`;
}

/**
 * Output variables CodePipeline takes: names and values together within its limit. The largest
 * values are cut (ending with `...[cut]`) until they fit; variables a stage bounds itself pass as they are.
 */
export function boundOutputVariables(variables: Record<string, string>, maxBytes = PIPELINE_OUTPUT_VARIABLES_MAX_BYTES): Record<string, string> {
  const bounded = { ...variables };
  const total = () => Object.entries(bounded).reduce((sum, [name, value]) => sum + bytesOf(name) + bytesOf(value), 0);
  for (let over = total() - maxBytes; over > 0; over = total() - maxBytes) {
    const [name, value] = Object.entries(bounded).sort(([, a], [, b]) => bytesOf(b) - bytesOf(a))[0];
    if (bytesOf(value) <= bytesOf(CUT_MARKER)) break;
    bounded[name] = cutTo(value, bytesOf(value) - over);
  }
  return bounded;
}
