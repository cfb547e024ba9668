import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';

/**
 * Synthesizes the app with cdk-nag's AwsSolutions pack. Throws the full report if any finding is
 * not acknowledged, so a test only has to call it.
 */
export function synthWithAwsSolutionsChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
}

/** Runs cfn-lint on the stack's template. Errors make `status` non-zero; warnings do not. */
export function cfnLint(stack: Stack): { status: number | null; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfn-lint-'));
  try {
    const file = path.join(dir, 'template.json');
    fs.writeFileSync(file, JSON.stringify(Template.fromStack(stack).toJSON()));
    const run = spawnSync('cfn-lint', ['--non-zero-exit-code', 'error', '--', file], { encoding: 'utf8' });
    if (run.error) throw run.error;
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function bucketOf(stack: Stack, id: string): CfnElement {
  const scope = id === 'Pipeline' ? stack.node.findChild('Pipeline').node.findChild('ArtifactsBucket') : stack.node.findChild(id);
  return scope.node.defaultChild as CfnElement;
}

/**
 * Acknowledges the findings of the test pipeline itself (test/vm-command/fixtures.ts pipelineStack):
 * its role, its source action and its buckets are the test's and CodePipeline's, not the stages'.
 */
export function acknowledgeTestPipeline(stack: Stack): void {
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
}
