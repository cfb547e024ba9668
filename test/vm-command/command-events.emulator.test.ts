import { EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { pipelineStack } from './fixtures';
import { VmCommand, VmCommandStage, VmTargets } from '../../src';
import { describeWithEmulator } from '../emulator/harness';

/*
 * The stages' command rule takes SSM's events of the library's own commands only. The synthesized
 * pattern is put on a rule in moto's EventBridge with an SQS target (moto cannot deliver to Lambda),
 * and SSM's status events are put as SSM would send them: only the library's command arrives, so a
 * foreign command of the same document invokes nothing.
 */

function commandRulePattern(): string {
  const { stack, pipeline, source } = pipelineStack(new App());
  new VmCommandStage(stack, 'Vm', { targets: VmTargets.instanceIds(['i-0123456789abcdef0']), command: VmCommand.shell(['make test']) })
    .addToPipeline(pipeline, { input: source });
  const rules = Object.values(Template.fromStack(stack).findResources('AWS::Events::Rule')) as any[];
  const [rule] = rules.filter(r => r.Properties.EventPattern.source[0] === 'aws.ssm');
  return JSON.stringify(rule.Properties.EventPattern);
}

function statusEvent(commandId: string, commands: string[]) {
  return {
    Source: 'aws.ssm',
    DetailType: 'EC2 Command Status-change Notification',
    Detail: JSON.stringify({
      'command-id': commandId,
      'document-name': 'AWS-RunShellScript',
      'parameters': { commands, executionTimeout: ['3600'] },
      'status': 'Success',
    }),
  };
}

describeWithEmulator('the stages\' command rule', emulator => {
  test('matches the library\'s commands by their marker line, and no foreign command of the same document', async () => {
    const sqs = emulator().client(SQSClient);
    const events = emulator().client(EventBridgeClient);
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'rule-target' }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    await events.send(new PutRuleCommand({ Name: 'commands', EventPattern: commandRulePattern() }));
    await events.send(new PutTargetsCommand({ Rule: 'commands', Targets: [{ Id: 'queue', Arn: Attributes!.QueueArn }] }));

    await events.send(new PutEventsCommand({
      Entries: [
        statusEvent('ours', ['# cdk-pipeline-stages run job-1', "export commitId='abc'", 'make test']),
        statusEvent('foreign', ['yum -y update']),
        statusEvent('foreign-mentioning-the-marker', ['echo "# cdk-pipeline-stages run job-1"']),
        { ...statusEvent('failed-foreign', ['false']), Detail: statusEvent('failed-foreign', ['false']).Detail.replace('Success', 'Failed') },
      ],
    }));

    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    expect((received.Messages ?? []).map(m => JSON.parse(m.Body!).detail['command-id'])).toEqual(['ours']);
  });
});
