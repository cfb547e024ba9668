import { AttributeValue } from '@aws-sdk/client-dynamodb';

/** A run item as the run table stores it. */
export function runItem(overrides: Record<string, AttributeValue> = {}): Record<string, AttributeValue> {
  return {
    pk: { S: 'run#run-1' },
    runId: { S: 'run-1' },
    jobId: { S: 'job-1' },
    jobRegisteredAt: { N: String(Date.now()) },
    executionArn: { S: 'arn:aws:states:us-east-1:123456789012:execution:M:run-1' },
    runWork: { S: JSON.stringify({ commandId: 'cmd-1', instanceIds: ['i-0123456789abcdef0', 'i-0123456789abcdef1'] }) },
    awaitingJob: { BOOL: false },
    reported: { BOOL: false },
    ...overrides,
  };
}

export function conditionalCheckFailed(): Error {
  return Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });
}

export function codePipelineEvent(data: Record<string, unknown> = {}, jobId = 'job-1'): any {
  return {
    'CodePipeline.job': {
      id: jobId,
      accountId: '123456789012',
      data: {
        actionConfiguration: { configuration: { FunctionName: 'start', UserParameters: '{}' } },
        inputArtifacts: [],
        outputArtifacts: [],
        artifactCredentials: { accessKeyId: 'AKIA', secretAccessKey: 'secret', sessionToken: 'token', expirationTime: 0 },
        ...data,
      },
    },
  };
}

/**
 * What the run table answers an UpdateItem with ALL_NEW: the run item, with the outcome the update
 * stores when it had none (as `SET outcome = if_not_exists(outcome, :o)` does).
 */
export function updatedRun(overrides: Record<string, AttributeValue> = {}) {
  return (input: { ExpressionAttributeValues?: Record<string, AttributeValue> }) => {
    const stored = input.ExpressionAttributeValues?.[':o'];
    return { Attributes: runItem({ ...(stored ? { outcome: stored } : {}), ...overrides }) };
  };
}
