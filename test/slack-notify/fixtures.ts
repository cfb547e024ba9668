import { Stack } from 'aws-cdk-lib';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as pipelines from 'aws-cdk-lib/pipelines';

/** A codepipeline.Pipeline with a CodeCommit source (namespace `SourceVariables`) and an approval stage. */
export function pipelineWithSource(stack: Stack, id = 'Pipeline') {
  const repository = codecommit.Repository.fromRepositoryName(stack, `${id}Repo`, 'app');
  const source = new codepipeline.Artifact(`${id}Source`);
  const pipeline = new codepipeline.Pipeline(stack, id, {
    pipelineType: codepipeline.PipelineType.V2,
    stages: [
      { stageName: 'Source', actions: [new actions.CodeCommitSourceAction({ actionName: 'Source', repository, output: source, variablesNamespace: 'SourceVariables' })] },
      { stageName: 'Release', actions: [new actions.ManualApprovalAction({ actionName: 'Approve' })] },
    ],
  });
  return { pipeline, source, repository };
}

/** A CDK Pipelines pipeline with an S3 source. */
export function cdkPipeline(stack: Stack) {
  const bucket = new s3.Bucket(stack, 'SourceBucket', { versioned: true });
  const source = pipelines.CodePipelineSource.s3(bucket, 'src.zip');
  const pipeline = new pipelines.CodePipeline(stack, 'CdkPipeline', {
    synth: new pipelines.ShellStep('Synth', { input: source, commands: ['echo synth'], primaryOutputDirectory: '.' }),
  });
  return { pipeline, source };
}

export function webhookSecret(stack: Stack, id = 'Webhook') {
  return new secretsmanager.Secret(stack, id, { description: 'Slack webhook' });
}

/** The CodePipeline stages of the only pipeline in a stack. */
export function stagesOf(template: { findResources(type: string): Record<string, any> })
  : Array<{ Name: string; Actions: Array<Record<string, any>> }> {
  const [resource] = Object.values(template.findResources('AWS::CodePipeline::Pipeline'));
  return resource.Properties.Stages;
}

/** ListActionExecutions' details of the example execution: the source, a failed test, and the Slack action in `announceStatus`. */
export function actionExecutionDetails(announceStatus: string): any[] {
  return [
    {
      stageName: 'Source',
      actionName: 'Source',
      status: 'Succeeded',
      startTime: 1741082400,
      lastUpdateTime: 1741082410,
      input: { actionTypeId: { category: 'Source', owner: 'AWS', provider: 'CodeCommit', version: '1' }, configuration: { RepositoryName: 'app', BranchName: 'main' } },
      output: { outputArtifacts: [{ name: 'Source' }] },
    },
    {
      stageName: 'Build',
      actionName: 'Test',
      status: 'Failed',
      startTime: 1741082500,
      lastUpdateTime: 1741083000,
      output: { executionResult: { externalExecutionSummary: 'exit status 2', externalExecutionUrl: 'https://example.com/logs/1' } },
    },
    { stageName: 'Announce', actionName: 'Announce', status: announceStatus, startTime: 1741083600, lastUpdateTime: 1741083600 },
  ];
}
