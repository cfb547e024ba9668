import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** How often EventBridge retries delivering an event to a function before the dead-letter queue. */
const EVENT_DELIVERY_ATTEMPTS = 8;
/** How often Lambda retries an asynchronous invocation the function failed to handle. */
const ASYNC_RETRY_ATTEMPTS = 2;

/**
 * An encrypted, TLS-only queue that keeps for 14 days the events a construct's rules could not
 * deliver and its functions could not handle.
 */
export function createDeadLetterQueue(scope: Construct): sqs.Queue {
  const queue = new sqs.Queue(scope, 'DeadLetterQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: 'This queue is itself the dead-letter queue of the construct\'s event rules and functions.',
  });
  return queue;
}

/** Sends the function's failed asynchronous invocations, after Lambda's retries, to the queue. */
export function sendFailedInvocationsTo(fn: lambda.Function, queue: sqs.IQueue, maxEventAge?: Duration): void {
  fn.configureAsyncInvoke({
    retryAttempts: ASYNC_RETRY_ATTEMPTS,
    maxEventAge,
    onFailure: new destinations.SqsDestination(queue),
  });
}

/**
 * Delivery settings for any EventBridge target (Lambda, CodeBuild, Step Functions, SQS, ...): bounded
 * retries, then the event is kept in the queue.
 */
export function deliveryWithDeadLetterQueue(queue: sqs.IQueue, maxEventAge: Duration): targets.TargetBaseProps {
  return { retryAttempts: EVENT_DELIVERY_ATTEMPTS, maxEventAge, deadLetterQueue: queue };
}

/** An EventBridge target for the function that retries delivery, then keeps the event in the queue. */
export function lambdaTargetWithDeadLetterQueue(
  fn: lambda.IFunction, queue: sqs.IQueue, maxEventAge: Duration, event?: events.RuleTargetInput,
): targets.LambdaFunction {
  return new targets.LambdaFunction(fn, { ...deliveryWithDeadLetterQueue(queue, maxEventAge), event });
}
