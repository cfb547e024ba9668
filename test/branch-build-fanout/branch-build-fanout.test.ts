import { App, Duration } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import { fanoutStack, fanoutWith, pipelineOf } from './fixtures';
import { BranchBuildFanout, FanoutTarget } from '../../src';
import { cfnLint, synthWithAwsSolutionsChecks } from '../template-checks';

function ruleDetail(branches: string[]): any {
  const { stack, fanout } = fanoutWith({ branches });
  const rule = Template.fromStack(stack).findResources('AWS::Events::Rule', { Properties: { EventPattern: Match.anyValue() } });
  return { detail: (Object.values(rule)[0] as any).Properties.EventPattern.detail, inCode: fanout.branchesFilteredInCode };
}

describe('the event pattern compiled from `branches`', () => {
  test('every branch: branch pushes (created and updated) only, no name condition', () => {
    expect(ruleDetail(['*'])).toEqual({ detail: { event: ['referenceCreated', 'referenceUpdated'], referenceType: ['branch'] }, inCode: [] });
  });

  test('includes become exact names, prefixes, suffixes and wildcards on referenceName', () => {
    expect(ruleDetail(['main', 'feature/*', '*-hotfix', 'release/*/rc*']).detail.referenceName)
      .toEqual(['main', { prefix: 'feature/' }, { suffix: '-hotfix' }, { wildcard: 'release/*/rc*' }]);
  });

  test('excludes become one anything-but on referenceFullName, so that both conditions hold', () => {
    expect(ruleDetail(['feature/*', '!feature/wip', '!feature/old']).detail).toMatchObject({
      referenceName: [{ prefix: 'feature/' }],
      referenceFullName: [{ 'anything-but': ['refs/heads/feature/wip', 'refs/heads/feature/old'] }],
    });
    expect(ruleDetail(['!dependabot/*']).detail).toEqual({
      event: ['referenceCreated', 'referenceUpdated'],
      referenceType: ['branch'],
      referenceFullName: [{ 'anything-but': { prefix: 'refs/heads/dependabot/' } }],
    });
  });

  test('`?` and `[...]` widen to `*` in the pattern and are applied in code; so are several excludes with wildcards', () => {
    const { detail, inCode } = ruleDetail(['release/?.x', 'hotfix/[0-9]*', '!tmp/*', '!*-wip']);
    expect(detail.referenceName).toEqual([{ wildcard: 'release/*.x' }, { prefix: 'hotfix/' }]);
    expect(detail.referenceFullName).toBeUndefined();
    expect(inCode).toEqual(['release/?.x', 'hotfix/[0-9]*', '!tmp/*', '!*-wip']);
  });

  test('deletions are matched only with stopOnBranchDeletion', () => {
    const { stack } = fanoutWith({ stopOnBranchDeletion: true });
    Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ detail: Match.objectLike({ event: ['referenceCreated', 'referenceUpdated', 'referenceDeleted'] }) }),
    });
  });
});

describe('BranchBuildFanout resources', () => {
  const { stack } = fanoutWith({ maxConcurrency: 20 });
  const template = Template.fromStack(stack);

  test('the rule sends the repositories\' events to the intake FIFO queue with one static message group', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ 'source': ['aws.codecommit'], 'detail-type': ['CodeCommit Repository State Change'], 'resources': [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^Repo'), 'Arn'] }] }),
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BranchesIntakeQueue'), 'Arn'] }, SqsParameters: { MessageGroupId: 'codecommit' } })],
    });
  });

  test('queues: FIFO, encrypted, TLS only, visibility six times the function timeout, redrive to the FIFO dead-letter queue', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    expect(Object.keys(queues)).toHaveLength(3);
    for (const queue of Object.values(queues) as any[]) {
      expect(queue.Properties).toMatchObject({ FifoQueue: true, SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
    }
    template.hasResourceProperties('AWS::SQS::Queue', {
      ContentBasedDeduplication: true,
      VisibilityTimeout: 180,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BranchesDeadLetterQueue'), 'Arn'] }, maxReceiveCount: 1000 },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId', VisibilityTimeout: 180 });
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function')) as any[]) expect(fn.Properties.Timeout * 6).toBeLessThanOrEqual(180);
    expect(Object.keys(template.findResources('AWS::SQS::QueuePolicy', {
      Properties: { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) } },
    }))).toHaveLength(3);
  });

  test('event source mappings report batch item failures; the dispatch one has the maximum concurrency', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 10, FunctionResponseTypes: ['ReportBatchItemFailures'], ScalingConfig: { MaximumConcurrency: 20 } });
  });

  test('only the dispatch function may start, stop and read builds, and only of the target project', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    const statements = Object.entries(policies)
      .flatMap(([id, p]: [string, any]) => p.Properties.PolicyDocument.Statement.map((s: any) => ({ id, ...s })));
    const codebuildStatements = statements.filter(s => [s.Action].flat().some((a: string) => a.startsWith('codebuild:')) && s.id.startsWith('Branches'));
    expect(codebuildStatements).toEqual([expect.objectContaining({
      id: expect.stringMatching(/^BranchesDispatchFunction/),
      Action: ['codebuild:StartBuild', 'codebuild:StopBuild', 'codebuild:BatchGetBuilds', 'codebuild:ListBuildsForProject'],
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Build/), 'Arn'] },
    })]);
    expect(JSON.stringify(statements.filter(s => s.id.startsWith('Branches')).map(s => s.Action))).not.toMatch(/\*"/);
    // The project's role may pull the repository (the builds override the source with it).
    expect(statements.some(s => s.id.startsWith('BuildRole') && [s.Action].flat().includes('codecommit:GitPull'))).toBe(true);
  });

  // aws-cdk-lib: an imported project's grantPrincipal is an iam.UnknownPrincipal, to which a grant adds no statement.
  test('an imported project: a synth warning says its role got no codecommit:GitPull (its builds would fail at DOWNLOAD_SOURCE)', () => {
    const warnings = (imported: boolean) => {
      const own = fanoutStack();
      const target = imported ? codebuild.Project.fromProjectName(own.stack, 'Imported', 'app-branches') : own.project;
      new BranchBuildFanout(own.stack, 'Branches', { repository: own.repository, target: FanoutTarget.codeBuild(target) });
      return Annotations.fromStack(own.stack).findWarning('*', Match.stringLikeRegexp('codecommit:GitPull')).map(w => [w.id, w.entry.data]);
    };
    expect(warnings(true)).toContainEqual(['/Stack/Branches', expect.stringMatching(
      /^BranchBuildFanout at Stack\/Branches: the target project Stack\/Imported is imported, so its role could not be granted codecommit:GitPull on Stack\/Repo; its builds fail at DOWNLOAD_SOURCE/)]);
    expect(warnings(false)).toEqual([]);
  });

  test('the functions get the settings as JSON, with the target project and the queues', () => {
    const dispatch = Object.values(template.findResources('AWS::Lambda::Function')).find((f: any) => f.Properties.Handler === 'index.dispatch') as any;
    const config = stack.resolve(dispatch.Properties.Environment.Variables.FANOUT_CONFIG);
    expect(JSON.stringify(config)).toMatch(/projectName.{0,20}"Ref":"Build45A36621"/);
    expect(JSON.stringify(config)).toContain('"protectedBranches\\":[\\"main\\",\\"master\\"]');
  });

  test('a sweep adds a scheduled function that may list and read the repositories\' branches', () => {
    const t = Template.fromStack(fanoutWith({ sweepInterval: Duration.minutes(30) }).stack);
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(30 minutes)' });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['codecommit:ListBranches', 'codecommit:GetBranch', 'codecommit:GetCommit'], Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Repo'), 'Arn'] } })]) },
    });
  });
});

describe('a pipeline target', () => {
  test('StartPipelineExecution only on the pipeline, and the settings name its source action and branch variable', () => {
    const { stack, repository, project } = fanoutStack();
    const pipeline = pipelineOf(stack, repository, project);
    new BranchBuildFanout(stack, 'Branches', { repository, target: FanoutTarget.pipeline(pipeline, { sourceActionName: 'Source' }) });
    const template = Template.fromStack(stack);
    const [policy] = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) => id.startsWith('BranchesDispatchFunction')).map(([, p]) => p as any);
    const statements = policy.Properties.PolicyDocument.Statement;
    expect(statements).toContainEqual({
      Action: 'codepipeline:StartPipelineExecution',
      Effect: 'Allow',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':codepipeline:us-east-1:123456789012:', { Ref: expect.stringMatching(/^Pipeline/) }]] },
    });
    expect(JSON.stringify(statements)).not.toMatch(/codebuild:/);
    const config = JSON.stringify(stack.resolve(Object.values(template.findResources('AWS::Lambda::Function')).find((f: any) => f.Properties.Handler === 'index.dispatch')!.Properties.Environment.Variables.FANOUT_CONFIG));
    expect(config).toContain('\\"sourceActionName\\":\\"Source\\",\\"branchVariable\\":\\"BRANCH\\"');
  });
});

describe('validation', () => {
  const error = (props: any) => () => fanoutWith(props);
  test.each([
    [{ branches: [] }, 'BranchBuildFanout at Stack/Branches: `branches` must not be empty'],
    [{ branches: ['!*'] }, "`branches` must match at least one branch, but '!*' excludes every branch, got: [\"!*\"]"],
    [{ branches: ['main', '!main'] }, '`branches` must match at least one branch, but every included branch is also excluded'],
    [{ branches: ['feature/{a,b}'] }, "`branches[0]` must not use braces: EventBridge cannot express `{a,b}` alternatives; give each alternative as a glob of its own, got: 'feature/{a,b}'"],
    [{ branches: ['!'] }, "`branches[0]` must be a glob such as 'feature/*' or '!main', got: '!'"],
    [{ branches: ['a b'] }, "`branches[0]` must be a glob such as 'feature/*' or '!main', got: 'a b'"],
    [{ maxReceiveCount: 0 }, '`maxReceiveCount` must be an integer from 1 to 100, got: 0'],
    [{ maxConcurrency: 1 }, '`maxConcurrency` must be an integer from 2 to 1000, got: 1'],
    [{ sweepInterval: Duration.seconds(30) }, "`sweepInterval` must be from 1 minute to 1 day, got: '30 seconds'"],
    [{ retryBackoff: Duration.minutes(5) }, "`retryBackoff` must be from 0 seconds to 4 minutes, got: '5 minutes'"],
    [{ repositories: [] }, '`repositories` must not be empty'],
  ])('%j', (props, message) => {
    expect(error(props)).toThrow(message);
  });

  test('repository and repositories together', () => {
    const { stack, repository, project } = fanoutStack();
    expect(() => new BranchBuildFanout(stack, 'Branches', { repository, repositories: [repository], target: FanoutTarget.codeBuild(project) }))
      .toThrow('BranchBuildFanout at Stack/Branches: exactly one of `repository`, `repositories` must be set, got: 2');
  });

  test('a V1 pipeline, several repositories for one pipeline, superseding with a pipeline', () => {
    const { stack, repository, project } = fanoutStack();
    const v1 = pipelineOf(stack, repository, project, codepipeline.PipelineType.V1);
    expect(() => new BranchBuildFanout(stack, 'V1', { repository, target: FanoutTarget.pipeline(v1, { sourceActionName: 'Source' }) }))
      .toThrow("BranchBuildFanout at Stack/V1: `target` must be a V2 pipeline (`pipelineType: PipelineType.V2`): only V2 pipelines take source revisions and variables at start, got: 'V1'");
    const other = new codecommit.Repository(stack, 'Other', { repositoryName: 'other' });
    expect(() => new BranchBuildFanout(stack, 'Two', { repositories: [repository, other], target: FanoutTarget.pipeline(v1, { sourceActionName: 'Source' }) }))
      .toThrow('`repositories` must hold exactly one repository with FanoutTarget.pipeline (the pipeline\'s source action reads one), got: 2');
    expect(() => new BranchBuildFanout(stack, 'Supersede', { repository, supersede: true, target: FanoutTarget.pipeline(v1, { sourceActionName: 'Source' }) }))
      .toThrow('`supersede` must be false with FanoutTarget.pipeline');
    expect(() => FanoutTarget.pipeline(v1, { sourceActionName: '' })).toThrow("`sourceActionName` must not be empty, got: ''");
  });

  test('a branch variable the pipeline does not declare', () => {
    const { app, stack, repository, project } = fanoutStack();
    const pipeline = pipelineOf(stack, repository, project);
    new BranchBuildFanout(stack, 'Branches', { repository, target: FanoutTarget.pipeline(pipeline, { sourceActionName: 'Source', branchVariable: 'GIT_BRANCH' }) });
    expect(() => app.synth()).toThrow("BranchBuildFanout at Stack/Branches: `branchVariable` must be a variable the pipeline declares (`variables` of Stack/Pipeline), got: 'GIT_BRANCH'; the pipeline declares: [\"BRANCH\"]");
  });
});

describe('compliance', () => {
  function stackWithBothTargets() {
    const app = new App();
    const { stack, repository, project } = fanoutStack(app);
    const other = new codecommit.Repository(stack, 'Other', { repositoryName: 'other' });
    new BranchBuildFanout(stack, 'Branches', {
      repositories: [repository, other],
      target: FanoutTarget.codeBuild(project),
      branches: ['feature/*', '!feature/wip'],
      supersede: true,
      stopOnBranchDeletion: true,
      sweepInterval: Duration.hours(1),
    });
    new BranchBuildFanout(stack, 'Pipelines', { repository, target: FanoutTarget.pipeline(pipelineOf(stack, repository, project), { sourceActionName: 'Source' }) });
    return { app, stack, project };
  }

  test('passes cdk-nag AwsSolutions: no finding on the fanouts (the test\'s own project and pipeline have some)', () => {
    const { app } = stackWithBothTargets();
    let report = '';
    try {
      synthWithAwsSolutionsChecks(app);
    } catch (err) {
      report = (err as Error).message;
    }
    // The report lists each finding's construct path; the test's project and pipeline are reported, so it did run.
    expect(report).toMatch(/Stack\/Pipeline\//);
    expect(report).not.toMatch(/Stack\/(Branches|Pipelines)\//);
  });

  test('passes cfn-lint', () => {
    const result = cfnLint(stackWithBothTargets().stack);
    expect(result.output).not.toMatch(/^E\d+/m);
    expect(result.status).toBe(0);
  });
});
