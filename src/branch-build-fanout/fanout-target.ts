import { Annotations, Stack, Token } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { invalid, requireMatch, requireNonEmptyString } from '../core/private/validation';

/** Options of a pipeline target. */
export interface PipelineFanoutOptions {
  /**
   * The name of the pipeline's CodeCommit source action: StartPipelineExecution overrides its
   * revision with the pushed commit (`sourceRevisions`, `COMMIT_ID`).
   */
  readonly sourceActionName: string;
  /**
   * The pipeline variable that receives the branch name. The pipeline must declare it
   * (`variables` of a V2 pipeline).
   * @default 'BRANCH'
   */
  readonly branchVariable?: string;
}

/** @internal What the dispatch function is told about its target. */
export interface BoundFanoutTarget {
  readonly config: { [key: string]: string };
}

/** What a `BranchBuildFanout` starts for each push: a CodeBuild project or a CodePipeline V2 pipeline. */
export abstract class FanoutTarget {
  /**
   * A CodeBuild project. Each push starts one build with StartBuild: source the pushed repository
   * at exactly the pushed commit (`sourceVersion`), environment variables `FANOUT_REPOSITORY`,
   * `FANOUT_BRANCH` and `FANOUT_COMMIT`, and an idempotency token. The project's role gets
   * `codecommit:GitPull` on the repositories; an imported project (`Project.fromProjectName`) has
   * no role CDK can change, so its role must allow that already (a synth warning says so).
   */
  public static codeBuild(project: codebuild.IProject): FanoutTarget {
    return new CodeBuildTarget(project);
  }

  /**
   * A CodePipeline V2 pipeline whose source action reads the one repository of the fanout. Each push
   * starts an execution with StartPipelineExecution: the source action's revision overridden with
   * the pushed commit and the branch in a pipeline variable. Choose the pipeline's execution mode
   * (PARALLEL or QUEUED; SUPERSEDED lets a push to one branch supersede another branch's execution).
   */
  public static pipeline(pipeline: codepipeline.IPipeline, options: PipelineFanoutOptions): FanoutTarget {
    return new PipelineTarget(pipeline, options);
  }

  /** @internal Whether the target's runs can be stopped (superseding, deletions). */
  public abstract readonly _canStop: boolean;

  /** @internal Grants the dispatch function what it needs and returns its settings. */
  public abstract _bind(scope: Construct, grantee: iam.IGrantable, repositories: codecommit.IRepository[]): BoundFanoutTarget;
}

class CodeBuildTarget extends FanoutTarget {
  public readonly _canStop = true;

  constructor(private readonly project: codebuild.IProject) {
    super();
  }

  public _bind(scope: Construct, grantee: iam.IGrantable, repositories: codecommit.IRepository[]): BoundFanoutTarget {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['codebuild:StartBuild', 'codebuild:StopBuild', 'codebuild:BatchGetBuilds', 'codebuild:ListBuildsForProject'],
      resourceArns: [this.project.projectArn],
    });
    const pulls = repositories.map(repository => repository.grantPull(this.project));
    // An imported project (Project.fromProjectName/-Arn) has no role CDK knows: the grant adds nothing.
    if (this.project.grantPrincipal instanceof iam.UnknownPrincipal || pulls.some(grant => !grant.success)) {
      Annotations.of(scope).addWarningV2('cdk-pipeline-stages:branch-build-fanout-imported-project',
        `BranchBuildFanout at ${scope.node.path}: the target project ${this.project.node.path} is imported, so its role could not be granted `
        + `codecommit:GitPull on ${repositories.map(r => r.node.path).join(', ')}; its builds fail at DOWNLOAD_SOURCE unless the role already `
        + 'allows it. Grant codecommit:GitPull on the repositories to the project\'s service role yourself.');
    }
    return { config: { type: 'codebuild', projectName: this.project.projectName } };
  }
}

class PipelineTarget extends FanoutTarget {
  public readonly _canStop = false;

  constructor(private readonly pipeline: codepipeline.IPipeline, private readonly options: PipelineFanoutOptions) {
    super();
    requireNonEmptyString('sourceActionName', options.sourceActionName);
    requireMatch('branchVariable', options.branchVariable, /^[A-Za-z0-9@\-_]{1,128}$/, 'be a pipeline variable name (letters, digits, @, - and _, at most 128)');
  }

  public _bind(scope: Construct, grantee: iam.IGrantable, repositories: codecommit.IRepository[]): BoundFanoutTarget {
    if (repositories.length !== 1) {
      invalid('repositories', 'hold exactly one repository with FanoutTarget.pipeline (the pipeline\'s source action reads one)', repositories.length);
    }
    const cfn = this.pipeline.node.defaultChild;
    if (cfn instanceof codepipeline.CfnPipeline) {
      const type = Stack.of(cfn).resolve(cfn.pipelineType);
      if (type !== codepipeline.PipelineType.V2 && !Token.isUnresolved(cfn.pipelineType)) {
        invalid('target', 'be a V2 pipeline (`pipelineType: PipelineType.V2`): only V2 pipelines take source revisions and variables at start', type ?? 'V1');
      }
      const variable = this.options.branchVariable ?? 'BRANCH';
      // StartPipelineExecution refuses a variable the pipeline does not declare; variables are added until synth.
      scope.node.addValidation({
        validate: () => {
          const declared: string[] = (Stack.of(cfn).resolve(cfn.variables) ?? []).map((v: { name: string }) => v.name);
          return declared.includes(variable) ? [] : [`BranchBuildFanout at ${scope.node.path}: \`branchVariable\` must be a variable the pipeline declares `
            + `(\`variables\` of ${this.pipeline.node.path}), got: '${variable}'; the pipeline declares: ${JSON.stringify(declared)}`];
        },
      });
    }
    iam.Grant.addToPrincipal({ grantee, actions: ['codepipeline:StartPipelineExecution'], resourceArns: [this.pipeline.pipelineArn] });
    return {
      config: {
        type: 'pipeline',
        pipelineName: this.pipeline.pipelineName,
        sourceActionName: this.options.sourceActionName,
        branchVariable: this.options.branchVariable ?? 'BRANCH',
      },
    };
  }
}
