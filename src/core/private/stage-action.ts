import { Stack, Validations } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeInvokeOfVersions } from './nag';

/** What a wrapped action does for its stage when it is placed in a pipeline. */
export interface StageActionHooks {
  /** Called when the action is placed in a pipeline, before it binds: the stage scopes resources to that pipeline. */
  readonly onBound?: (pipeline: codepipeline.IPipeline, actionName: string) => void;
  /** Acknowledges the cdk-nag findings that the action's own grants leave on its role. */
  readonly acknowledge?: (role: iam.IRole, options: codepipeline.ActionBindOptions) => void;
}

/**
 * Any action a stage renders (Lambda, CodeBuild, manual approval, ...), wrapped so that the stage
 * learns the pipeline it joined and the action's role carries its acknowledgements.
 */
export class StageAction implements codepipeline.IAction {
  public readonly actionProperties: codepipeline.ActionProperties;

  constructor(private readonly action: codepipeline.IAction, private readonly hooks: StageActionHooks) {
    this.actionProperties = action.actionProperties;
  }

  public bind(scope: Construct, stage: codepipeline.IStage, options: codepipeline.ActionBindOptions): codepipeline.ActionConfig {
    this.hooks.onBound?.(stage.pipeline, this.actionProperties.actionName);
    const config = this.action.bind(scope, stage, options);
    this.hooks.acknowledge?.(options.role, options);
    if (this.actionProperties.inputs?.length) acknowledgeArtifactRead(options.role, options.bucket);
    return config;
  }

  public onStateChange(name: string, target?: events.IRuleTarget, options?: events.RuleProps): events.Rule {
    return this.action.onStateChange(name, target, options);
  }
}

/** Acknowledges the findings of aws-cdk-lib's read grant on the pipeline's artifact bucket, which an action with inputs gets. */
export function acknowledgeArtifactRead(role: iam.IRole, bucket: s3.IBucket): void {
  const reason = 'aws-cdk-lib lets an action with input artifacts read the pipeline\'s artifact bucket (its objects are named per execution).';
  for (const action of ['s3:GetBucket*', 's3:GetObject*', 's3:List*']) {
    Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[Action::${action}]`, reason });
  }
  const cfnBucket = bucket.node.defaultChild as s3.CfnBucket | undefined;
  if (cfnBucket) {
    Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[Resource::<${Stack.of(bucket).getLogicalId(cfnBucket)}.Arn>/*]`, reason });
  }
}

/** A Lambda invoke action of a stage, with the two findings aws-cdk-lib's grants leave on its role acknowledged. */
export function lambdaStageAction(props: actions.LambdaInvokeActionProps, onBound?: StageActionHooks['onBound']): StageAction {
  return new StageAction(new actions.LambdaInvokeAction(props), {
    onBound,
    acknowledge: role => {
      acknowledgeInvokeOfVersions(role, props.lambda as lambda.Function,
        'The pipeline invokes the stage\'s own function; aws-cdk-lib\'s Lambda action grants its versions and aliases too.');
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'lambda:ListFunctions, which aws-cdk-lib\'s Lambda action grants, supports no resource-level permissions.',
      });
    },
  });
}
