import { CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { amiWeightFigures, fanoutFigures, weightFigures, weightStack } from './stack-weight';
import { cfnLint, synthWithAwsSolutionsChecks } from '../template-checks';

/*
 * The weight budget: stacks hold at most 500 resources, and users put many stages in one pipeline.
 * `npx projen bench:weight` prints the same figures.
 */

test('one VmCommandStage owns at most 25 resources, each further one at most 12, and a pipeline with 20 and a SlackNotifyStage stays under 350', () => {
  const figures = weightFigures();
  expect(figures.firstStage).toBeLessThanOrEqual(25);
  expect(figures.furtherStage).toBeLessThanOrEqual(12);
  expect(figures.twentyStagesWithPipelineAndSlack).toBeLessThan(350);
});

test('one AmiRefreshStage owns at most 25 resources, each further one (another group in the same stack) at most 12', () => {
  const figures = amiWeightFigures();
  expect(figures.firstStage).toBeLessThanOrEqual(25);
  expect(figures.furtherStage).toBeLessThanOrEqual(12);
});

test('a BranchBuildFanout owns at most 20 resources, at most 25 with the sweep', () => {
  const figures = fanoutFigures();
  expect(figures.fanout).toBeLessThanOrEqual(20);
  expect(figures.fanoutWithSweep).toBeLessThanOrEqual(25);
});

function bucketOf(stack: Stack, id: string): CfnElement {
  const scope = id === 'Pipeline' ? stack.node.findChild('Pipeline').node.findChild('ArtifactsBucket') : stack.node.findChild(id);
  return scope.node.defaultChild as CfnElement;
}

describe('the stack with 20 VM stages and a Slack stage', () => {
  test('passes cdk-nag AwsSolutions with only the test pipeline\'s own findings acknowledged', () => {
    const { app, stack } = weightStack(20, true);
    // The pipeline's own role, its source action and its buckets are the test's and CodePipeline's, not the stages'.
    for (const id of ['AwsSolutions-S1', 'AwsSolutions-KMS5']) {
      for (const scope of ['Pipeline', 'SourceBucket']) Validations.of(stack.node.findChild(scope)).acknowledge({ id, reason: 'the test\'s pipeline and bucket' });
    }
    const pipelineOwn = ['AwsSolutions-IAM5[Action::s3:DeleteObject*]', 'AwsSolutions-IAM5[Action::s3:Abort*]',
      'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', 'AwsSolutions-IAM5[Action::s3:GetBucket*]',
      'AwsSolutions-IAM5[Action::s3:GetObject*]', 'AwsSolutions-IAM5[Action::s3:List*]'];
    for (const id of [...pipelineOwn, ...['Pipeline', 'SourceBucket'].map(b => `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(bucketOf(stack, b))}.Arn>/*]`)]) {
      for (const scope of [stack.node.findChild('Pipeline').node.findChild('Role'), stack.node.findChild('Pipeline').node.findChild('Source'), stack.node.findChild('SourceBucket')]) {
        Validations.of(scope).acknowledge({ id, reason: 'the test\'s pipeline and buckets' });
      }
    }
    expect(() => synthWithAwsSolutionsChecks(app)).not.toThrow();
  });

  test('passes cfn-lint', () => {
    const result = cfnLint(weightStack(20, true).stack);
    expect(result.output).not.toMatch(/^E\d+/m);
    expect(result.status).toBe(0);
  });
});
