import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as s3 from 'aws-cdk-lib/aws-s3';

export const ENV = { account: '111111111111', region: 'eu-west-1' };

export function pipelineStack(app = new App()) {
  const stack = new Stack(app, 'PipelineStack', { env: ENV });
  const bucket = new s3.Bucket(stack, 'SourceBucket', {
    versioned: true,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
  });
  const source = new codepipeline.Artifact('Source');
  const pipeline = new codepipeline.Pipeline(stack, 'Pipeline', {
    pipelineType: codepipeline.PipelineType.V2,
    stages: [
      {
        stageName: 'Source',
        actions: [new actions.S3SourceAction({ actionName: 'Source', bucket, bucketKey: 'src.zip', output: source, variablesNamespace: 'Source' })],
      },
      { stageName: 'Approve', actions: [new actions.ManualApprovalAction({ actionName: 'Approve' })] },
    ],
  });
  return { app, stack, pipeline, source, bucket };
}

/** The state machine definition of a stage, with tokens replaced by readable placeholders. */
export function definitionOf(template: Template, logicalIdPrefix = 'Vm'): any {
  const machines = template.findResources('AWS::StepFunctions::StateMachine');
  const [id] = Object.keys(machines).filter(k => k.startsWith(logicalIdPrefix));
  const body = machines[id].Properties.DefinitionString;
  const text = typeof body === 'string' ? body : body['Fn::Join'][1]
    .map((p: unknown) => (typeof p === 'string' ? p : `<${Object.values(p as object)[0]?.[0] ?? Object.values(p as object)[0]}>`)).join('');
  return JSON.parse(text);
}

/** Every statement of the role policies attached to a function's role. */
export function statementsOf(template: Template, functionLogicalIdPrefix: string): any[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p: any) => JSON.stringify(p.Properties.Roles).includes(`${functionLogicalIdPrefix}ServiceRole`))
    .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}
