import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The structured JSON logger every handler uses. Handlers log ids, names and outcomes, never a
 * secret value or a URL read from a secret.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'cdk-pipeline-stages' });

/**
 * Starts an invocation's log context: the Lambda request id, and the run (and command) it works
 * on, so that one run can be followed across the functions' log groups.
 */
export function logInvocation(context: Parameters<Logger['addContext']>[0] | undefined, keys: { runId?: unknown; commandId?: unknown }): void {
  logger.resetKeys();
  if (context) logger.addContext(context);
  const known = Object.fromEntries(Object.entries(keys).filter(([, value]) => typeof value === 'string' && value));
  logger.appendKeys(known);
}
