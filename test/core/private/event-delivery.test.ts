import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { createDeadLetterQueue, deliveryWithDeadLetterQueue, lambdaTargetWithDeadLetterQueue, sendFailedInvocationsTo } from '../../../src/core/private/event-delivery';

test('an event that cannot be delivered or handled ends in the encrypted dead-letter queue, after bounded retries', () => {
  const stack = new Stack();
  const fn = new lambda.Function(stack, 'Fn', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {};'),
  });
  const queue = createDeadLetterQueue(stack);
  sendFailedInvocationsTo(fn, queue, Duration.hours(1));
  new events.Rule(stack, 'Rule', {
    eventPattern: { source: ['aws.ssm'] },
    targets: [lambdaTargetWithDeadLetterQueue(fn, queue, Duration.hours(1))],
  });

  const template = Template.fromStack(stack);
  const queueArn = { 'Fn::GetAtt': [stack.getLogicalId(queue.node.defaultChild as any), 'Arn'] };
  template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
  template.hasResourceProperties('AWS::SQS::QueuePolicy', {
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
  });
  template.hasResourceProperties('AWS::Events::Rule', {
    Targets: [Match.objectLike({ DeadLetterConfig: { Arn: queueArn }, RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 3600 } })],
  });
  template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
    MaximumRetryAttempts: 2,
    MaximumEventAgeInSeconds: 3600,
    DestinationConfig: { OnFailure: { Destination: queueArn } },
  });
});

test('targets other than Lambda (CodeBuild, Step Functions, SQS) get the same bounded retries and dead-letter queue', () => {
  const stack = new Stack();
  const queue = createDeadLetterQueue(stack);
  const delivery = deliveryWithDeadLetterQueue(queue, Duration.hours(2));
  const project = new codebuild.Project(stack, 'Build', { buildSpec: codebuild.BuildSpec.fromObject({ version: '0.2', phases: {} }) });
  const machine = new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Pass')) });
  const fifo = new sqs.Queue(stack, 'Work', { fifo: true, contentBasedDeduplication: true });
  new events.Rule(stack, 'Rule', {
    eventPattern: { source: ['aws.codecommit'] },
    targets: [
      new targets.CodeBuildProject(project, delivery),
      new targets.SfnStateMachine(machine, delivery),
      new targets.SqsQueue(fifo, { ...delivery, messageGroupId: 'branch' }),
    ],
  });
  const queueArn = { 'Fn::GetAtt': [stack.getLogicalId(queue.node.defaultChild as any), 'Arn'] };
  const [rule] = Object.values(Template.fromStack(stack).findResources('AWS::Events::Rule')) as any[];
  expect(rule.Properties.Targets).toHaveLength(3);
  for (const target of rule.Properties.Targets) {
    expect(target).toMatchObject({ DeadLetterConfig: { Arn: queueArn }, RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 } });
  }
});
