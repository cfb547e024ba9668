import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import { Construct } from 'constructs';
import { requireIntegerInRange, requireMatch } from './private/validation';

/** Where and how a stage's actions are placed in a CodePipeline stage. */
export interface StageActionOptions {
  /**
   * The artifact the stage's actions read, e.g. the source output.
   * @default - the actions read no artifact (a stage that needs one says so at synth)
   */
  readonly input?: codepipeline.Artifact;
  /**
   * Run order of the stage's first action in the CodePipeline stage.
   * @default 1
   */
  readonly runOrder?: number;
  /**
   * Name of the (first) action.
   * @default - the construct's id
   */
  readonly actionName?: string;
  /**
   * Namespace for the variables the stage's action outputs.
   * @default - CodePipeline assigns none; later actions cannot read the variables
   */
  readonly variablesNamespace?: string;
}

/** Options to add a stage as a new stage of a `codepipeline.Pipeline`. */
export interface AddStageOptions extends StageActionOptions {
  /**
   * Name of the new pipeline stage.
   * @default - the construct's id
   */
  readonly stageName?: string;
  /**
   * Where to place the new stage in the pipeline.
   * @default - after the last stage added so far
   */
  readonly placement?: codepipeline.StagePlacement;
}

/** What a stage construct needs to render its actions. All values are resolved. */
export interface RenderActionsOptions {
  /** Name of the first action. */
  readonly actionName: string;
  /** Run order of the first action. */
  readonly runOrder: number;
  /** @default - no input artifact */
  readonly input?: codepipeline.Artifact;
  /** @default - no variables namespace */
  readonly variablesNamespace?: string;
}

/**
 * Base of every stage construct in this library: it owns its resources and renders the
 * CodePipeline actions that use them, for a `codepipeline.Pipeline` (`addToPipeline`,
 * `addToStage`) and for CDK Pipelines (`PipelineStageStep`).
 */
export abstract class PipelineStage extends Construct {
  /**
   * Adds this stage to a pipeline as a new stage.
   * @returns the new pipeline stage
   */
  public addToPipeline(pipeline: codepipeline.Pipeline, options: AddStageOptions = {}): codepipeline.IStage {
    const stage = pipeline.addStage({
      stageName: options.stageName ?? this.node.id,
      placement: options.placement,
    });
    this.addToStage(stage, options);
    return stage;
  }

  /**
   * Places this stage's actions in an existing pipeline stage.
   * @returns the number of run orders the actions take, starting at `options.runOrder`
   */
  public addToStage(stage: codepipeline.IStage, options: StageActionOptions = {}): number {
    requireIntegerInRange('runOrder', options.runOrder, 1, 999);
    requireMatch('actionName', options.actionName, /^[A-Za-z0-9.@\-_]{1,100}$/,
      'be 1 to 100 characters of A-Z, a-z, 0-9, ., @, - and _');
    const runOrder = options.runOrder ?? 1;
    const actions = this.renderActions({
      actionName: options.actionName ?? this.node.id,
      runOrder,
      input: options.input,
      variablesNamespace: options.variablesNamespace,
    });
    for (const action of actions) stage.addAction(action);
    const last = Math.max(...actions.map(a => a.actionProperties.runOrder ?? runOrder));
    return last - runOrder + 1;
  }

  /**
   * Renders the CodePipeline actions of this stage. The first action takes `options.actionName`
   * and `options.runOrder`; the names of further actions derive from it.
   */
  protected abstract renderActions(options: RenderActionsOptions): codepipeline.IAction[];
}
