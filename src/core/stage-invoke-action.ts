import { Validations } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { acknowledgeInvokeOfVersions } from './bundled-function';

export interface StageInvokeActionProps extends actions.LambdaInvokeActionProps {
  readonly lambda: lambda.Function;
  /** Called when the action is placed in a pipeline, before it binds: the stage scopes resources to that pipeline. */
  readonly onBound?: (pipeline: codepipeline.IPipeline, actionName: string) => void;
}

/**
 * The Lambda invoke action a stage renders: aws-cdk-lib's, which tells the stage the pipeline it
 * was placed in and acknowledges the two findings aws-cdk-lib's grants put on the action's own role.
 */
export class StageInvokeAction extends actions.LambdaInvokeAction {
  private readonly fn: lambda.Function;
  private readonly onBound?: (pipeline: codepipeline.IPipeline, actionName: string) => void;

  constructor(props: StageInvokeActionProps) {
    super(props);
    this.fn = props.lambda;
    this.onBound = props.onBound;
  }

  protected bound(scope: Construct, stage: codepipeline.IStage, options: codepipeline.ActionBindOptions): codepipeline.ActionConfig {
    this.onBound?.(stage.pipeline, this.actionProperties.actionName);
    const config = super.bound(scope, stage, options);
    acknowledgeInvokeOfVersions(options.role, this.fn,
      'The pipeline invokes the stage\'s own function; aws-cdk-lib\'s Lambda action grants its versions and aliases too.');
    Validations.of(options.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'lambda:ListFunctions, which aws-cdk-lib\'s Lambda action grants, supports no resource-level permissions.',
    });
    return config;
  }
}
