import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { cfnLint, synthWithAwsSolutionsChecks } from './template-checks';

test('cdk-nag findings fail the synth until acknowledged', () => {
  const app = new App();
  const stack = new Stack(app, 'Stack');
  new sqs.Queue(stack, 'Queue', { enforceSSL: true });
  expect(() => synthWithAwsSolutionsChecks(app)).toThrow(/AwsSolutions-SQS3/);

  const acknowledged = new App();
  const ackStack = new Stack(acknowledged, 'Stack');
  Validations.of(new sqs.Queue(ackStack, 'Queue', { enforceSSL: true }))
    .acknowledge({ id: 'AwsSolutions-SQS3', reason: 'this queue is a dead-letter queue' });
  expect(() => synthWithAwsSolutionsChecks(acknowledged)).not.toThrow();
});

test('cfn-lint reports template errors', () => {
  const stack = new Stack();
  new sqs.CfnQueue(stack, 'Queue', { delaySeconds: 5000 });
  const bad = cfnLint(stack);
  expect(bad.status).not.toBe(0);
  expect(bad.output).toMatch(/DelaySeconds|5000/);

  const good = new Stack();
  new sqs.Queue(good, 'Queue');
  expect(cfnLint(good)).toEqual({ status: 0, output: expect.any(String) });
});
