import { clip } from './errors';

/**
 * One cause's share of a failure reason: a huge error message (a stack, a long command output)
 * must leave room for what follows it, e.g. what cleanup did.
 */
export const MAX_CAUSE_CHARS = 2_000;

/**
 * A readable reason for a Step Functions error: the Lambda's message when the cause is a Lambda
 * error payload, bounded to `MAX_CAUSE_CHARS`. A message that only reads `[object Object]` (a
 * function threw a value that is not an Error) is replaced by the payload's error type.
 */
export function describeStepError(error: string | undefined, cause: string | undefined): string {
  let message = cause?.trim() ?? '';
  try {
    const parsed = JSON.parse(message);
    if (parsed && typeof parsed.errorMessage === 'string') {
      message = parsed.errorMessage === '[object Object]'
        ? `the function threw a value that is not an Error (${typeof parsed.errorType === 'string' ? parsed.errorType : 'unknown type'})`
        : parsed.errorMessage;
    }
  } catch {
    // The cause is plain text.
  }
  const name = error || 'Error';
  return clip(message ? `${name}: ${message}` : name, MAX_CAUSE_CHARS);
}
