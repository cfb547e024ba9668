import { App, Stack } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { StageInvokeAction } from '../../src/core/stage-invoke-action';

test('tells the stage the pipeline and action name it was placed with, and acknowledges the action role\'s two findings', () => {
  const stack = new Stack(new App(), 'Stack');
  const fn = new lambda.Function(stack, 'Fn', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {};'),
  });
  const bucket = new s3.Bucket(stack, 'Bucket', { versioned: true });
  const source = new codepipeline.Artifact();
  const bound: Array<[codepipeline.IPipeline, string]> = [];
  const pipeline = new codepipeline.Pipeline(stack, 'Pipeline', {
    stages: [
      { stageName: 'Source', actions: [new actions.S3SourceAction({ actionName: 'Source', bucket, bucketKey: 'k', output: source })] },
      { stageName: 'Run', actions: [new StageInvokeAction({ actionName: 'Invoke', lambda: fn, onBound: (p, name) => bound.push([p, name]) })] },
    ],
  });

  expect(bound).toEqual([[pipeline, 'Invoke']]);
  const role = stack.node.findAll().find(c => c.node.path.endsWith('Run/Invoke/CodePipelineActionRole'))!;
  const acknowledged = role.node.metadata.filter(m => m.type === 'aws:cdk:acknowledged-rules').flatMap(m => m.data);
  const fnId = stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
  expect(JSON.stringify(acknowledged)).toContain(`AwsSolutions-IAM5[Resource::<${fnId}.Arn>:*]`);
  expect(JSON.stringify(acknowledged)).toContain('AwsSolutions-IAM5[Resource::*]');
});
