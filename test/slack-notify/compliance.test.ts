import { App, Stack, Validations } from 'aws-cdk-lib';
import { Annotations } from 'aws-cdk-lib/assertions';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { pipelineWithSource } from './fixtures';
import { PipelineEvent, SlackNotifyStage, SlackOutcome, SlackWebhook } from '../../src';
import { cfnLint, synthWithAwsSolutionsChecks } from '../template-checks';

const ENV = { account: '111111111111', region: 'eu-west-1' };

/** Both modes, two channels (a secret with a customer managed key and a SecureString parameter), commit authors from CodeCommit. */
function notifierStack(app: App, pipelineOf: (stack: Stack) => codepipeline.IPipeline,
  placeIn?: (stack: Stack, notify: SlackNotifyStage) => void): Stack {
  const stack = new Stack(app, `Stack${app.node.children.length}`, { env: ENV });
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const secret = new secretsmanager.Secret(stack, 'Webhook', { encryptionKey: key });
  Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'A Slack webhook cannot be rotated by a Lambda; it is replaced by hand in Slack.' });
  const notify = new SlackNotifyStage(stack, 'Notify', {
    channels: [
      { name: 'alerts', webhook: SlackWebhook.fromSecret(secret, 'url'), outcomes: [SlackOutcome.FAILED, SlackOutcome.APPROVAL] },
      {
        name: 'releases',
        webhook: SlackWebhook.fromSecureStringParameterName('/slack/releases'),
        outcomes: [SlackOutcome.SUCCEEDED, SlackOutcome.CANCELLED],
      },
    ],
    pipeline: pipelineOf(stack),
    events: [
      PipelineEvent.EXECUTION_FAILED, PipelineEvent.EXECUTION_STOPPED, PipelineEvent.EXECUTION_SUCCEEDED,
      PipelineEvent.ACTION_FAILED, PipelineEvent.APPROVAL_WAITING,
    ],
    actionText: 'Released #{SourceVariables.CommitId}',
    codeCommitRepositories: [codecommit.Repository.fromRepositoryName(stack, 'AppRepository', 'app')],
  });
  placeIn?.(stack, notify);
  return stack;
}

function synthWithNag(build: (app: App) => Stack): Stack {
  const app = new App();
  const stack = build(app);
  synthWithAwsSolutionsChecks(app); // throws the report of any unacknowledged finding
  return stack;
}

describe('cdk-nag AwsSolutions', () => {
  test('event mode on an imported pipeline: no finding', () => {
    const stack = synthWithNag(app => notifierStack(app, s =>
      codepipeline.Pipeline.fromPipelineArn(s, 'Pipeline', 'arn:aws:codepipeline:eu-west-1:111111111111:release')));
    Annotations.fromStack(stack).hasNoError('*', '*');
    Annotations.fromStack(stack).hasNoWarning('*', '*');
  });

  test('both modes in the pipeline\'s own stack: no finding in the notifier', () => {
    const stack = synthWithNag(app => notifierStack(app, s => {
      const { pipeline } = pipelineWithSource(s);
      // The test pipeline's own findings are not the notifier's; acknowledged on the pipeline only.
      for (const id of ['AwsSolutions-S1',
        'AwsSolutions-IAM5[Action::s3:GetObject*]', 'AwsSolutions-IAM5[Action::s3:GetBucket*]', 'AwsSolutions-IAM5[Action::s3:List*]',
        'AwsSolutions-IAM5[Action::s3:DeleteObject*]', 'AwsSolutions-IAM5[Action::s3:Abort*]', 'AwsSolutions-IAM5[Resource::<PipelineArtifactsBucket22248F97.Arn>/*]',
        'AwsSolutions-KMS5', 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]']) {
        Validations.of(pipeline).acknowledge({ id, reason: 'test pipeline, not under test' });
      }
      return pipeline;
    }, (s, notify) => notify.addToPipeline(s.node.findChild('Pipeline') as codepipeline.Pipeline, { stageName: 'Announce' })));
    Annotations.fromStack(stack).hasNoError('*', '*');
  });
});

describe('cfn-lint', () => {
  test('the synthesized template of both modes has no error', () => {
    const stack = notifierStack(new App(), s => pipelineWithSource(s).pipeline, (s, notify) =>
      notify.addToPipeline(s.node.findChild('Pipeline') as codepipeline.Pipeline, { stageName: 'Announce' }));
    const { status, output } = cfnLint(stack);
    expect(output).not.toMatch(/^E\d/m);
    expect(status).toBe(0);
  });
});
