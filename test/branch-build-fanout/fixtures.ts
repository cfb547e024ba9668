import { App, Stack } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
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
