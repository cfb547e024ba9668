import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { createDeadLetterQueue, lambdaTargetWithDeadLetterQueue, sendFailedInvocationsTo } from '../../../src/core/private/event-delivery';

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
