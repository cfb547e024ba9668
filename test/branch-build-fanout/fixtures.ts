import { App, Stack } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import { BranchBuildFanout, BranchBuildFanoutProps, FanoutTarget } from '../../src';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

/** A stack with a repository and a CodeBuild project whose source is that repository. */
export function fanoutStack(app = new App()) {
  const stack = new Stack(app, 'Stack', { env: { account: ACCOUNT, region: REGION } });
  const repository = new codecommit.Repository(stack, 'Repo', { repositoryName: 'app' });
  const project = new codebuild.Project(stack, 'Build', {
    projectName: 'app-branches',
    source: codebuild.Source.codeCommit({ repository }),
    buildSpec: codebuild.BuildSpec.fromObject({ version: '0.2', phases: { build: { commands: ['make test'] } } }),
  });
  return { app, stack, repository, project };
}

/** A fanout of the repository to the project, with the given props. */
export function fanoutWith(props: Partial<BranchBuildFanoutProps> = {}, app = new App()) {
  const { stack, repository, project } = fanoutStack(app);
  const fanout = new BranchBuildFanout(stack, 'Branches', {
    repository: props.repositories ? undefined : repository,
    target: FanoutTarget.codeBuild(project),
    ...props,
  });
  return { app, stack, repository, project, fanout };
}

/** A pipeline (V2 unless told) whose source action `Source` reads the repository. */
export function pipelineOf(
  stack: Stack, repository: codecommit.IRepository, project: codebuild.IProject, pipelineType = codepipeline.PipelineType.V2,
) {
  const source = new codepipeline.Artifact('Source');
  return new codepipeline.Pipeline(stack, 'Pipeline', {
    pipelineType,
    variables: pipelineType === codepipeline.PipelineType.V2 ? [new codepipeline.Variable({ variableName: 'BRANCH', defaultValue: 'main' })] : undefined,
    stages: [
      { stageName: 'Source', actions: [new actions.CodeCommitSourceAction({ actionName: 'Source', repository, output: source, trigger: actions.CodeCommitTrigger.NONE })] },
      { stageName: 'Build', actions: [new actions.CodeBuildAction({ actionName: 'Build', project, input: source })] },
    ],
  });
}
