import { amiWeightFigures, ansibleWeightFigures, fanoutFigures, weightFigures, weightStack } from './stack-weight';
import { acknowledgeTestPipeline, cfnLint, synthWithAwsSolutionsChecks } from '../template-checks';

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

test('an AnsibleDeployStage (SSH or SSM, with preview) stays within the budget of a stage: the first with the stack\'s lock table, each further one', () => {
  const figures = ansibleWeightFigures();
  // Project, role, policy, log group, report group (+ the shared lock table); SSM adds the transfer bucket and its policy.
  expect(figures.ssh).toEqual({ firstStage: 6, furtherStage: 5 });
  expect(figures.ssm).toEqual({ firstStage: 8, furtherStage: 7 });
  for (const { firstStage, furtherStage } of Object.values(figures)) {
    expect(firstStage).toBeLessThanOrEqual(25);
    expect(furtherStage).toBeLessThanOrEqual(12);
  }
});

describe('the stack with 20 VM stages and a Slack stage', () => {
  test('passes cdk-nag AwsSolutions with only the test pipeline\'s own findings acknowledged', () => {
    const { app, stack } = weightStack(20, true);
    acknowledgeTestPipeline(stack);
    expect(() => synthWithAwsSolutionsChecks(app)).not.toThrow();
  });

  test('passes cfn-lint', () => {
    const result = cfnLint(weightStack(20, true).stack);
    expect(result.output).not.toMatch(/^E\d+/m);
    expect(result.status).toBe(0);
  });
});
