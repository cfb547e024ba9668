import { App, Stack } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { actionPart } from '../../../src/core/private/action-parts';
import { lambdaStageAction, StageAction } from '../../../src/core/private/stage-action';

function pipelineWith(stack: Stack, action: codepipeline.IAction) {
  const bucket = new s3.Bucket(stack, 'Bucket', { versioned: true });
  const source = new codepipeline.Artifact();
  return new codepipeline.Pipeline(stack, 'Pipeline', {
    stages: [
      { stageName: 'Source', actions: [new actions.S3SourceAction({ actionName: 'Source', bucket, bucketKey: 'k', output: source })] },
      { stageName: 'Run', actions: [action] },
    ],
  });
}

function acknowledgedOn(stack: Stack, pathSuffix: string): string {
  const role = stack.node.findAll().find(c => c.node.path.endsWith(pathSuffix))!;
  return JSON.stringify(role.node.metadata.filter(m => m.type === 'aws:cdk:acknowledged-rules').flatMap(m => m.data));
}

test('a Lambda action tells the stage the pipeline and action name it was placed with, and acknowledges the action role\'s two findings', () => {
  const stack = new Stack(new App(), 'Stack');
  const fn = new lambda.Function(stack, 'Fn', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {};'),
  });
  const bound: Array<[codepipeline.IPipeline, string]> = [];
  const pipeline = pipelineWith(stack, lambdaStageAction({ actionName: 'Invoke', lambda: fn }, (p, name) => bound.push([p, name])));

  expect(bound).toEqual([[pipeline, 'Invoke']]);
  const acknowledged = acknowledgedOn(stack, 'Run/Invoke/CodePipelineActionRole');
  const fnId = stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
  expect(acknowledged).toContain(`AwsSolutions-IAM5[Resource::<${fnId}.Arn>:*]`);
  expect(acknowledged).toContain('AwsSolutions-IAM5[Resource::*]');
});

test('any action can be wrapped: a manual approval keeps its properties and gets the stage\'s hooks', () => {
  const stack = new Stack(new App(), 'Stack');
  const roles: iam.IRole[] = [];
  const bound: string[] = [];
  const approval = new actions.ManualApprovalAction({ actionName: 'Approve', runOrder: 2 });
  const wrapped = new StageAction(approval, { onBound: (_, name) => bound.push(name), acknowledge: role => roles.push(role) });
  pipelineWith(stack, wrapped);

  expect(wrapped.actionProperties).toBe(approval.actionProperties);
  expect(bound).toEqual(['Approve']);
  expect(roles).toHaveLength(1);
});

test('a stage\'s further actions derive their name, run order and namespace from the user\'s options', () => {
  const options = { actionName: 'Deploy', runOrder: 3, variablesNamespace: 'Deploy' };
  expect(actionPart(options, 'Apply', 2)).toEqual({ actionName: 'Deploy-Apply', runOrder: 5, variablesNamespace: 'Deploy-Apply' });
  expect(actionPart({ actionName: 'Deploy', runOrder: 1 }, 'Approve', 1)).toEqual({ actionName: 'Deploy-Approve', runOrder: 2, variablesNamespace: undefined });
});
