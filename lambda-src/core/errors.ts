/** An error caused by input the user controls (props passed at run time, artifact files, events). */
export class InputError extends Error {
  public override readonly name = 'InputError';
}

/** A readable one-line reason for any thrown value, for CodePipeline and Step Functions. */
export function reasonOf(err: unknown): string {
  if (err instanceof InputError) return err.message;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
