/*
 * An example consumer app: one CodePipeline pipeline that composes the library's stages.
 * It synthesizes without an AWS account: `npx projen example` (in this repository) or
 * `npx ts-node app.ts` (in a project that installed cdk-pipeline-stages).
 */
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { printSynthSummary } from './summary';

const app = new App({ outdir: path.join(__dirname, 'cdk.out') });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
const stack = new Stack(app, 'ExamplePipelineStack');

const repository = codecommit.Repository.fromRepositoryName(stack, 'Repo', 'legacy-app');
const accessLogs = new s3.Bucket(stack, 'AccessLogs', {
  encryption: s3.BucketEncryption.S3_MANAGED,
  enforceSSL: true,
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
});
Validations.of(accessLogs).acknowledge({ id: 'AwsSolutions-S1', reason: 'This bucket receives the access logs of the artifact bucket; logging it again would recurse.' });
const artifactBucket = new s3.Bucket(stack, 'Artifacts', {
  encryption: s3.BucketEncryption.S3_MANAGED,
  enforceSSL: true,
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  serverAccessLogsBucket: accessLogs,
});

const source = new codepipeline.Artifact('Source');
const pipeline = new codepipeline.Pipeline(stack, 'Pipeline', {
  pipelineType: codepipeline.PipelineType.V2,
  artifactBucket,
  stages: [{
    stageName: 'Source',
    actions: [new actions.CodeCommitSourceAction({ actionName: 'Source', repository, branch: 'main', output: source, variablesNamespace: 'Source' })],
  }],
});
pipeline.addStage({ stageName: 'Release', actions: [new actions.ManualApprovalAction({ actionName: 'Approve' })] });

// The pipeline's own roles (made by aws-cdk-lib, not by this library) read and write pipeline
// artifacts: object-level wildcards inside the one artifact bucket.
for (const finding of ['Action::s3:Abort*', 'Action::s3:DeleteObject*', 'Action::s3:GetBucket*', 'Action::s3:GetObject*', 'Action::s3:List*', `Resource::<${stack.getLogicalId(artifactBucket.node.defaultChild as s3.CfnBucket)}.Arn>/*`]) {
  Validations.of(pipeline).acknowledge({
    id: `AwsSolutions-IAM5[${finding}]`,
    reason: 'CodePipeline roles read and write artifact objects in the pipeline\'s own artifact bucket.',
  });
}

printSynthSummary(app.synth());
