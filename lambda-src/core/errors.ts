/** An error caused by input the user controls (props passed at run time, artifact files, events). */
export class InputError extends Error {
  public override readonly name = 'InputError';
}

/**
 * A readable reason for any thrown value, for CodePipeline and Step Functions: never empty, never
 * `[object Object]`, whatever an SDK error carries.
 */
export function reasonOf(err: unknown): string {
  if (err instanceof InputError) return err.message || err.name;
  if (err instanceof Error) {
    const name = err.name || 'Error';
    return err.message ? `${name}: ${err.message}` : name;
  }
  if (typeof err === 'string') return err || 'an empty error';
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}
