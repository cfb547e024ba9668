import { BatchGetBuildsCommand, CodeBuildClient, ListBuildsForProjectCommand, StartBuildCommand, StopBuildCommand } from '@aws-sdk/client-codebuild';
import { CodePipelineClient, StartPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import type { TargetConfig } from './config';
import type { BranchMessage } from './messages';
import { awsClient } from '../core/aws-clients';

/** The environment variables every build gets. */
export const BUILD_VARIABLES = { repository: 'FANOUT_REPOSITORY', branch: 'FANOUT_BRANCH', commit: 'FANOUT_COMMIT' } as const;

// One attempt per call: the message's backoff is the retry, and a second StartBuild is never sent blindly.
const codebuild = () => awsClient(CodeBuildClient, { maxAttempts: 1 });
const codepipeline = () => awsClient(CodePipelineClient, { maxAttempts: 1 });

function cloneUrl(repository: string): string {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const domain = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://git-codecommit.${region}.${domain}/v1/repos/${repository}`;
}

/** Starts the target at the pushed commit; returns the build id or pipeline execution id. */
export async function startTarget(target: TargetConfig, push: BranchMessage, token: string): Promise<string> {
  if (target.type === 'codebuild') {
    const { build } = await codebuild().send(new StartBuildCommand({
      projectName: target.projectName,
      sourceTypeOverride: 'CODECOMMIT',
      sourceLocationOverride: cloneUrl(push.repository),
      sourceVersion: push.commit,
      environmentVariablesOverride: [
        { name: BUILD_VARIABLES.repository, value: push.repository, type: 'PLAINTEXT' },
        { name: BUILD_VARIABLES.branch, value: push.branch, type: 'PLAINTEXT' },
        { name: BUILD_VARIABLES.commit, value: push.commit, type: 'PLAINTEXT' },
      ],
      idempotencyToken: token,
    }));
    if (!build?.id) throw new Error('StartBuild answered without a build id');
    return build.id;
  }
  const { pipelineExecutionId } = await codepipeline().send(new StartPipelineExecutionCommand({
    name: target.pipelineName,
    sourceRevisions: [{ actionName: target.sourceActionName, revisionType: 'COMMIT_ID', revisionValue: push.commit }],
    variables: [{ name: target.branchVariable, value: push.branch }],
    clientRequestToken: token,
  }));
  if (!pipelineExecutionId) throw new Error('StartPipelineExecution answered without an execution id');
  return pipelineExecutionId;
}

/**
 * A build of the push that an earlier attempt started (found among the project's latest 100 builds
 * by its commit and variables), for a redo after CodeBuild's idempotency window.
 */
export async function findBuildOf(projectName: string, push: BranchMessage): Promise<string | undefined> {
  const { ids = [] } = await codebuild().send(new ListBuildsForProjectCommand({ projectName, sortOrder: 'DESCENDING' }));
  if (!ids.length) return undefined;
  const { builds = [] } = await codebuild().send(new BatchGetBuildsCommand({ ids: ids.slice(0, 100) }));
  const variable = (b: (typeof builds)[number], name: string) => b.environment?.environmentVariables?.find(v => v.name === name)?.value;
  return builds.find(b => b.sourceVersion === push.commit
    && variable(b, BUILD_VARIABLES.branch) === push.branch && variable(b, BUILD_VARIABLES.repository) === push.repository)?.id;
}

/** Stops the build if it is still running; returns whether it stopped one. */
export async function stopIfRunning(buildId: string): Promise<boolean> {
  const { builds = [] } = await codebuild().send(new BatchGetBuildsCommand({ ids: [buildId] }));
  if (builds[0]?.buildStatus !== 'IN_PROGRESS') return false;
  await codebuild().send(new StopBuildCommand({ id: buildId }));
  return true;
}
