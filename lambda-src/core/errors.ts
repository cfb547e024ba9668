/** An error caused by input the user controls (props passed at run time, artifact files, events). */
export class InputError extends Error {
  public override readonly name = 'InputError';
}

/** What `String(value)` gives for an object: never a reason. */
const OBJECT_TEXT = '[object Object]';

/** A value as readable text: strings as they are, anything else as JSON (cycles marked, not thrown). */
function textOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value === OBJECT_TEXT ? '' : value;
  const seen = new WeakSet<object>();
  try {
    const json = JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v !== 'object' || v === null) return v;
      if (seen.has(v)) return '[circular]';
      seen.add(v);
      return v;
    });
    return json === undefined || json === '{}' ? '' : json;
  } catch {
    return '';
  }
}

/**
 * A readable reason for any thrown value, for CodePipeline and Step Functions: never empty, never
 * `[object Object]`, whatever an SDK error carries (a message that is not a string, an object
 * with cycles, a value that is not an Error at all).
 */
export function reasonOf(err: unknown): string {
  if (err instanceof InputError) return textOf(err.message) || err.name;
  if (err instanceof Error) {
    const name = textOf(err.name) || 'Error';
    const message = textOf(err.message);
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (message) return `${name}: ${message}`;
    return status ? `${name} (HTTP ${status})` : name;
  }
  if (typeof err === 'string') return err || 'an empty error';
  return textOf(err) || `a thrown ${err === null ? 'null' : typeof err} without a message`;
}

/**
 * Bounds a text to `max` characters by cutting its middle: the head (what failed) and the tail
 * (what followed, e.g. what cleanup did) both stay, with a marker saying how much was cut.
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const marker = (cut: number) => `\n[... ${cut} characters cut ...]\n`;
  const room = max - marker(text.length).length;
  const head = Math.ceil(room * 0.6);
  const tail = room - head;
  return `${text.slice(0, head)}${marker(text.length - head - tail)}${text.slice(text.length - tail)}`;
}
