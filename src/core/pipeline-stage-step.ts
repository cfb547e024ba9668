import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { Construct } from 'constructs';
import { PipelineStage } from './pipeline-stage';

/** Creates a stage construct when a CDK Pipelines pipeline is built. */
export interface IPipelineStageFactory {
  /** Creates the stage construct (and its resources) in the pipeline's scope. */
  createStage(scope: Construct, id: string): PipelineStage;
}

/** Options of a CDK Pipelines step that runs a stage. */
export interface PipelineStageStepOptions {
  /**
   * The file set the stage's actions read, e.g. `pipelines.CodePipelineSource` or a `ShellStep`.
   * @default - the actions read no file set
   */
  readonly input?: pipelines.IFileSetProducer;
}

/**
 * A CDK Pipelines (`pipelines.CodePipeline`) step that runs a stage of this library, for a wave's or
 * a stage's `pre` and `post`. CDK Pipelines passes the action name (the step id) and run order.
 */
export class PipelineStageStep extends pipelines.Step implements pipelines.ICodePipelineActionFactory {
  /** A step that uses a stage construct that already exists (for example in the pipeline's stack). */
  public static fromStage(stage: PipelineStage, options: PipelineStageStepOptions = {}): PipelineStageStep {
    return new PipelineStageStep(stage.node.id, stage, undefined, options);
  }

  /** A step that creates its stage construct when the pipeline is built, in the pipeline's scope. */
  public static fromFactory(id: string, factory: IPipelineStageFactory, options: PipelineStageStepOptions = {}): PipelineStageStep {
    return new PipelineStageStep(id, undefined, factory, options);
  }

  private readonly input?: pipelines.FileSet;
  private readonly created = new Map<Construct, PipelineStage>();

  private constructor(
    id: string,
    private readonly stage: PipelineStage | undefined,
    private readonly factory: IPipelineStageFactory | undefined,
    options: PipelineStageStepOptions,
  ) {
    super(id);
    if (options.input) {
      const fileSet = options.input.primaryOutput;
      if (!fileSet) throw new Error(`\`input\` must produce a file set, got: ${options.input}`);
      this.input = fileSet;
      this.addDependencyFileSet(fileSet);
    }
  }

  public produceAction(stage: codepipeline.IStage, options: pipelines.ProduceActionOptions): pipelines.CodePipelineActionFactoryResult {
    const construct = this.stage ?? this.createOnce(options.scope);
    const runOrdersConsumed = construct.addToStage(stage, {
      actionName: options.actionName,
      runOrder: options.runOrder,
      variablesNamespace: options.variablesNamespace,
      input: this.input ? options.artifacts.toCodePipeline(this.input) : undefined,
    });
    return { runOrdersConsumed };
  }

  private createOnce(scope: Construct): PipelineStage {
    let construct = this.created.get(scope);
    if (!construct) {
      construct = this.factory!.createStage(scope, this.id);
      this.created.set(scope, construct);
    }
    return construct;
  }
}
