import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The structured JSON logger every handler uses. Handlers log ids, names and outcomes, never a
 * secret value or a URL read from a secret.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'cdk-pipeline-stages' });
