import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PipelineStage, RenderActionsOptions } from '../../src';
import { actionPart } from '../../src/core/private/action-parts';

/** Test-only stage: one Lambda invoke action. */
export class LambdaTestStage extends PipelineStage {
  public readonly fn: lambda.Function;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.fn = new lambda.Function(this, 'Fn', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => {};'),
    });
  }

  protected renderActions(options: RenderActionsOptions): codepipeline.IAction[] {
    return [new actions.LambdaInvokeAction({
      actionName: options.actionName,
      runOrder: options.runOrder,
      lambda: this.fn,
      inputs: options.input ? [options.input] : undefined,
      variablesNamespace: options.variablesNamespace,
    })];
  }
}

/** Test-only stage: one Step Functions invoke action, then a second action one run order later. */
export class StateMachineTestStage extends PipelineStage {
  public readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.stateMachine = new sfn.StateMachine(this, 'Machine', {
      definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(this, 'Done')),
    });
  }

  protected renderActions(options: RenderActionsOptions): codepipeline.IAction[] {
    return [
      new actions.StepFunctionInvokeAction({
        actionName: options.actionName,
        runOrder: options.runOrder,
        stateMachine: this.stateMachine,
        stateMachineInput: options.input
          ? actions.StateMachineInput.filePath(options.input.atPath('input.json'))
          : actions.StateMachineInput.literal({ from: 'test' }),
        variablesNamespace: options.variablesNamespace,
      }),
      new actions.ManualApprovalAction({ ...actionPart(options, 'Approve', 1), variablesNamespace: undefined }),
    ];
  }
}
