import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { Construct } from 'constructs';
import { LambdaTestStage, StateMachineTestStage } from './test-stages';
import { PipelineStage, PipelineStageStep } from '../../src';

function pipelineWithSource(stack: Stack) {
  const bucket = new s3.Bucket(stack, 'SourceBucket', { versioned: true });
  const source = new codepipeline.Artifact('Source');
  const pipeline = new codepipeline.Pipeline(stack, 'Pipeline', {
    pipelineType: codepipeline.PipelineType.V2,
    stages: [
      { stageName: 'Source', actions: [new actions.S3SourceAction({ actionName: 'Source', bucket, bucketKey: 'src.zip', output: source })] },
      { stageName: 'Deploy', actions: [new actions.ManualApprovalAction({ actionName: 'Approve' })] },
    ],
  });
  return { pipeline, source };
}

function stagesOf(stack: Stack): Array<{ Name: string; Actions: Array<Record<string, any>> }> {
  const pipelines_ = Template.fromStack(stack).findResources('AWS::CodePipeline::Pipeline');
  const [resource] = Object.values(pipelines_);
  return resource.Properties.Stages;
}

describe('codepipeline.Pipeline', () => {
  test('addToPipeline adds a new stage named after the construct, at the chosen placement', () => {
    const stack = new Stack();
    const { pipeline, source } = pipelineWithSource(stack);
    const deploy = pipeline.stage('Deploy');
    new LambdaTestStage(stack, 'Smoke').addToPipeline(pipeline, { input: source, placement: { justAfter: pipeline.stage('Source') } });
    new StateMachineTestStage(stack, 'Verify').addToPipeline(pipeline, { stageName: 'Verification', placement: { rightBefore: deploy } });

    const stages = stagesOf(stack);
    expect(stages.map(s => s.Name)).toEqual(['Source', 'Smoke', 'Verification', 'Deploy']);
    expect(stages[1].Actions).toEqual([expect.objectContaining({
      Name: 'Smoke',
      RunOrder: 1,
      ActionTypeId: expect.objectContaining({ Category: 'Invoke', Provider: 'Lambda' }),
      InputArtifacts: [{ Name: 'Source' }],
    })]);
    expect(stages[2].Actions.map(a => [a.Name, a.RunOrder, a.ActionTypeId.Provider])).toEqual([
      ['Verify', 1, 'StepFunctions'],
      ['Verify-Approve', 2, 'Manual'],
    ]);
  });

  test('addToStage places the actions in an existing stage at a run order and reports the run orders used', () => {
    const stack = new Stack();
    const { pipeline, source } = pipelineWithSource(stack);
    const deploy = pipeline.stage('Deploy');
    const used = new StateMachineTestStage(stack, 'Verify').addToStage(deploy, { runOrder: 2, input: source, actionName: 'Check', variablesNamespace: 'CheckVars' });

    expect(used).toBe(2);
    const actionsInDeploy = stagesOf(stack)[1].Actions;
    expect(actionsInDeploy.map(a => [a.Name, a.RunOrder])).toEqual([['Approve', 1], ['Check', 2], ['Check-Approve', 3]]);
    expect(actionsInDeploy[1]).toMatchObject({
      Namespace: 'CheckVars',
      InputArtifacts: [{ Name: 'Source' }],
      Configuration: { InputType: 'FilePath', Input: 'Source::input.json' },
    });
  });

  test('two stages of the same kind in one stack and one pipeline do not collide', () => {
    const stack = new Stack();
    const { pipeline } = pipelineWithSource(stack);
    new LambdaTestStage(stack, 'First').addToStage(pipeline.stage('Deploy'), { runOrder: 2 });
    new LambdaTestStage(stack, 'Second').addToStage(pipeline.stage('Deploy'), { runOrder: 2 });
    expect(stagesOf(stack)[1].Actions.map(a => a.Name)).toEqual(['Approve', 'First', 'Second']);
    Template.fromStack(stack).resourceCountIs('AWS::Lambda::Function', 2);
  });

  test.each([
    [{ runOrder: 0 }, '`runOrder` must be an integer from 1 to 999, got: 0'],
    [{ actionName: 'has space' }, "`actionName` must be 1 to 100 characters of A-Z, a-z, 0-9, ., @, - and _, got: 'has space'"],
  ])('rejects bad placement %p', (options, message) => {
    const stack = new Stack();
    const { pipeline } = pipelineWithSource(stack);
    expect(() => new LambdaTestStage(stack, 'Smoke').addToStage(pipeline.stage('Deploy'), options)).toThrow(message);
  });
});

describe('CDK Pipelines', () => {
  function cdkPipeline(stack: Stack) {
    const bucket = new s3.Bucket(stack, 'SourceBucket', { versioned: true });
    const source = pipelines.CodePipelineSource.s3(bucket, 'src.zip');
    const pipeline = new pipelines.CodePipeline(stack, 'Pipeline', {
      synth: new pipelines.ShellStep('Synth', { input: source, commands: ['echo synth'], primaryOutputDirectory: '.' }),
    });
    return { pipeline, source };
  }

  test('fromStage reuses an existing stage construct in a wave post step, with the action name, run order and input file set', () => {
    const app = new App();
    const stack = new Stack(app, 'PipelineStack');
    const { pipeline, source } = cdkPipeline(stack);
    const smoke = new LambdaTestStage(stack, 'Smoke');
    const verify = new StateMachineTestStage(stack, 'Verify');
    const smokeStep = PipelineStageStep.fromStage(smoke, { input: source });
    const verifyStep = PipelineStageStep.fromStage(verify);
    verifyStep.addStepDependency(smokeStep);
    pipeline.addWave('Checks', { pre: [smokeStep], post: [verifyStep] });
    pipeline.buildPipeline();

    const checks = stagesOf(stack).find(s => s.Name === 'Checks')!;
    expect(checks.Actions.map(a => [a.Name, a.RunOrder, a.ActionTypeId.Provider])).toEqual([
      ['Smoke', 1, 'Lambda'],
      ['Verify', 2, 'StepFunctions'],
      ['Verify-Approve', 3, 'Manual'],
    ]);
    expect(checks.Actions[0].InputArtifacts).toEqual([{ Name: expect.stringMatching(/Source/) }]);
    Template.fromStack(stack).resourceCountIs('AWS::Lambda::Function', 1);
    Template.fromStack(stack).resourceCountIs('AWS::StepFunctions::StateMachine', 1);
  });

  test('fromFactory creates the stage construct when the pipeline is built, in the pipeline scope', () => {
    const app = new App();
    const stack = new Stack(app, 'PipelineStack');
    const { pipeline } = cdkPipeline(stack);
    const created: string[] = [];
    const factory = {
      createStage(scope: Construct, id: string): PipelineStage {
        created.push(id);
        return new StateMachineTestStage(scope, id);
      },
    };
    pipeline.addWave('Checks', { post: [PipelineStageStep.fromFactory('Verify', factory)] });
    pipeline.buildPipeline();

    expect(created).toEqual(['Verify']);
    const checks = stagesOf(stack).find(s => s.Name === 'Checks')!;
    expect(checks.Actions.map(a => a.Name)).toEqual(['Verify', 'Verify-Approve']);
    Template.fromStack(stack).hasResourceProperties('AWS::StepFunctions::StateMachine', Match.anyValue());
  });

  test('a step whose input produces no file set is rejected', () => {
    const noOutput = new pipelines.ManualApprovalStep('Approve');
    const stage = new LambdaTestStage(new Stack(), 'Smoke');
    expect(() => PipelineStageStep.fromStage(stage, { input: noOutput }))
      .toThrow('`input` must produce a file set, got: ManualApprovalStep(Approve)');
  });
});
