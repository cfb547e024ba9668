/** A readable reason for a Step Functions error: the Lambda's message when the cause is a Lambda error payload. */
export function describeStepError(error: string | undefined, cause: string | undefined): string {
  let message = cause?.trim() ?? '';
  try {
    const parsed = JSON.parse(message);
    if (parsed && typeof parsed.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // The cause is plain text.
  }
  const name = error || 'Error';
  return message ? `${name}: ${message}` : name;
}
