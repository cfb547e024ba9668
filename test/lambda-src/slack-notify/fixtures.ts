import type { ActionExecutionDetail, PipelineExecution } from '@aws-sdk/client-codepipeline';

export const ACCOUNT = '111111111111';
export const REGION = 'eu-west-1';
export const EXECUTION_ID = '8a6b2f44-1c3e-4c2f-9c1d-2b7e5f0a9d31';
export const SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:slack-alerts-AbCdEf`;
export const COMMIT = '4f9d2c1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e';

/** The function's configuration as the construct writes it. */
export function config(channels: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ channels, requestTimeoutMs: 10_000, maxAttempts: 3, ...extra });
}

export function executionEvent(state: string, time = '2025-03-04T10:12:30Z') {
  return {
    'version': '0',
    'id': 'e-1',
    'source': 'aws.codepipeline',
    'detail-type': 'CodePipeline Pipeline Execution State Change',
    'account': ACCOUNT,
    'region': REGION,
    time,
    'resources': [`arn:aws:codepipeline:${REGION}:${ACCOUNT}:release`],
    'detail': { 'pipeline': 'release', 'execution-id': EXECUTION_ID, state, 'version': 3 },
  };
}

export function actionEvent(state: string, category: string, stage: string, action: string, result?: Record<string, string>) {
  return {
    ...executionEvent(state),
    'detail-type': 'CodePipeline Action Execution State Change',
    'detail': {
      'pipeline': 'release',
      'execution-id': EXECUTION_ID,
      state,
      stage,
      action,
      'type': { owner: 'AWS', provider: category === 'Approval' ? 'Manual' : 'CodeBuild', category, version: '1' },
      ...(result ? { 'execution-result': result } : {}),
    },
  };
}

export function jobEvent(userParameters: string | undefined, jobId = 'job-1') {
  return {
    'CodePipeline.job': {
      id: jobId,
      accountId: ACCOUNT,
      data: { actionConfiguration: { configuration: { FunctionName: 'notify', UserParameters: userParameters } }, inputArtifacts: [], outputArtifacts: [] },
    },
  };
}

export const PIPELINE_EXECUTION: PipelineExecution = {
  pipelineName: 'release',
  pipelineExecutionId: EXECUTION_ID,
  status: 'Failed',
  trigger: { triggerType: 'StartPipelineExecution', triggerDetail: `arn:aws:sts::${ACCOUNT}:assumed-role/Deployer/alice` },
  artifactRevisions: [{
    name: 'Source',
    revisionId: COMMIT,
    revisionSummary: JSON.stringify({ ProviderType: 'GitHub', CommitMessage: 'Fix the <checkout> & payment flow\n\nLonger body' }),
    revisionUrl: `https://github.com/acme/shop/commit/${COMMIT}`,
  }],
};

export const ACTION_EXECUTIONS: ActionExecutionDetail[] = [
  {
    stageName: 'Source',
    actionName: 'Source',
    status: 'Succeeded',
    startTime: new Date('2025-03-04T10:00:00Z'),
    lastUpdateTime: new Date('2025-03-04T10:00:20Z'),
  },
  {
    stageName: 'Build',
    actionName: 'UnitTests',
    status: 'Failed',
    startTime: new Date('2025-03-04T10:01:00Z'),
    lastUpdateTime: new Date('2025-03-04T10:12:29Z'),
    output: {
      executionResult: {
        externalExecutionId: 'shop-tests:1234',
        externalExecutionSummary: 'Build terminated with state: FAILED',
        externalExecutionUrl: 'https://console.aws.amazon.com/codesuite/codebuild/projects/shop-tests/build/shop-tests%3A1234/log',
        errorDetails: { code: 'JobFailed', message: 'Tests failed: 3 of 412 (CheckoutSpec)' },
      },
    },
  },
  {
    stageName: 'Release',
    actionName: 'Approve',
    status: 'InProgress',
    startTime: new Date('2025-03-04T10:05:00Z'),
    lastUpdateTime: new Date('2025-03-04T10:05:00Z'),
    input: { configuration: { CustomData: 'Check the canary dashboard first', ExternalEntityLink: 'https://grafana.example.com/d/canary' } },
  },
  {
    stageName: 'Announce',
    actionName: 'Slack',
    status: 'InProgress',
    startTime: new Date('2025-03-04T10:20:00Z'),
    lastUpdateTime: new Date('2025-03-04T10:20:00Z'),
  },
];

export const CODECOMMIT_REPOSITORY = { name: 'shop', arn: `arn:aws:codecommit:${REGION}:${ACCOUNT}:shop` };
export const CODECOMMIT_URL = `https://${REGION}.console.aws.amazon.com/codesuite/codecommit/repositories/shop/commit/${COMMIT}?region=${REGION}`;

/** An execution whose source is a CodeCommit repository (CodePipeline reports no author). */
export const CODECOMMIT_EXECUTION: PipelineExecution = {
  ...PIPELINE_EXECUTION,
  artifactRevisions: [{ name: 'SourceArtifact', revisionId: COMMIT, revisionSummary: 'Fix the checkout flow', revisionUrl: CODECOMMIT_URL }],
};

/** The CodeCommit source action's execution: its configuration names the repository. */
export const CODECOMMIT_SOURCE_ACTION: ActionExecutionDetail = {
  stageName: 'Source',
  actionName: 'Source',
  status: 'Succeeded',
  startTime: new Date('2025-03-04T10:00:00Z'),
  lastUpdateTime: new Date('2025-03-04T10:00:20Z'),
  input: {
    actionTypeId: { category: 'Source', owner: 'AWS', provider: 'CodeCommit', version: '1' },
    configuration: { RepositoryName: 'shop', BranchName: 'main' },
  },
  output: { outputArtifacts: [{ name: 'SourceArtifact' }], executionResult: { externalExecutionId: COMMIT } },
};
