/*
 * An example consumer app: one CodePipeline pipeline that composes the library's stages.
 * It synthesizes without an AWS account: `npx projen example` (in this repository) or
 * `npx ts-node app.ts` (in a project that installed cdk-pipeline-stages).
 */
import * as path from 'path';
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { printSynthSummary } from './summary';
import {
  AmiRefreshStage, AnsibleDeployStage, AnsibleInventory, AnsibleTransport, BranchBuildFanout, FanoutTarget, FileParameterType, ImageCapture,
  ImagePruning, KnownHosts, PipelineEvent, SlackNotifyStage, SlackOutcome, SlackWebhook, SshPrivateKey, VmCommand, VmCommandStage, VmTargets,
} from 'cdk-pipeline-stages';

const app = new App({ outdir: path.join(__dirname, 'cdk.out') });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
const stack = new Stack(app, 'ExamplePipelineStack');

const repository = codecommit.Repository.fromRepositoryName(stack, 'Repo', 'legacy-app');
const accessLogs = new s3.Bucket(stack, 'AccessLogs', {
  encryption: s3.BucketEncryption.S3_MANAGED,
  enforceSSL: true,
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
});
Validations.of(accessLogs).acknowledge({ id: 'AwsSolutions-S1', reason: 'This bucket receives the access logs of the artifact bucket; logging it again would recurse.' });
const artifactBucket = new s3.Bucket(stack, 'Artifacts', {
  encryption: s3.BucketEncryption.S3_MANAGED,
  enforceSSL: true,
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  serverAccessLogsBucket: accessLogs,
});

const source = new codepipeline.Artifact('Source');
const pipeline = new codepipeline.Pipeline(stack, 'Pipeline', {
  pipelineType: codepipeline.PipelineType.V2,
  artifactBucket,
  stages: [{
    stageName: 'Source',
    actions: [new actions.CodeCommitSourceAction({ actionName: 'Source', repository, branch: 'main', output: source, variablesNamespace: 'Source' })],
  }],
});
// Regression tests on the simulation hosts (EC2 or on-premises, tagged Role=simulation); the
// repository's ci/simulation.json may pick the suite.
new VmCommandStage(stack, 'SimulationTests', {
  targets: VmTargets.tags({ Role: ['simulation'] }),
  command: VmCommand.shell(['cd /opt/suite', './run-regression.sh "$SUITE"']),
  executionTimeout: Duration.hours(2),
  variableParameters: { COMMIT_ID: '#{Source.CommitId}' },
  parametersFile: 'ci/simulation.json',
  fileParameters: { SUITE: FileParameterType.STRING },
}).addToPipeline(pipeline, { input: source, variablesNamespace: 'SimulationTests' });

// A smoke test on the licensed Windows hosts, in the same stage after the regression tests. The VM
// stages of a stack share their two functions, run table and dead-letter queue.
new VmCommandStage(stack, 'WindowsSmokeTest', {
  targets: VmTargets.tags({ Role: ['licensed-cad'] }),
  command: VmCommand.powerShell(['Set-Location C:\\suite', '.\\smoke.ps1 -Commit $env:COMMIT_ID']),
  variableParameters: { COMMIT_ID: '#{Source.CommitId}' },
}).addToStage(pipeline.stages[1], { input: source, runOrder: 2 });

// Configure the web hosts (EC2, tagged Role=web) with the repository's Ansible playbook over SSH: a
// check, an approval that shows the hosts and how many tasks would change, then the run on those
// hosts. After deploying, put the private key in the secret's `privateKey` field and the hosts' keys
// in the known_hosts parameter.
const ansibleKey = new secretsmanager.Secret(stack, 'AnsibleDeployKey', { description: 'SSH private key of the example pipeline\'s ansible user' });
Validations.of(ansibleKey).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'An SSH deploy key is rotated together with the hosts\' authorized_keys, by their owners.' });
new AnsibleDeployStage(stack, 'ConfigureWeb', {
  playbook: 'ansible/site.yml',
  inventory: AnsibleInventory.ec2Tags({ tagFilters: { Role: ['web'] }, groupsByTag: ['Role'] }),
  transport: AnsibleTransport.ssh({
    privateKey: SshPrivateKey.fromSecret(ansibleKey, 'privateKey'),
    knownHosts: KnownHosts.fromSsmParameter('/example/ansible/known_hosts'),
    user: 'ec2-user',
  }),
  variableExtraVars: { commit_id: '#{Source.CommitId}' },
  parametersFile: 'ansible/run.json',
  fileParameters: { release: FileParameterType.STRING },
  preview: true,
}).addToPipeline(pipeline, { input: source, variablesNamespace: 'ConfigureWeb' });

pipeline.addStage({ stageName: 'Release', actions: [new actions.ManualApprovalAction({ actionName: 'Approve' })] });

// The web tier: an Auto Scaling group whose instances get each release in place (a VmCommandStage),
// then an AMI of an updated instance becomes the launch template's next version and an instance
// refresh rolls the fleet onto it, so that instances launched later boot the release too.
const vpc = new ec2.Vpc(stack, 'WebVpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'web', subnetType: ec2.SubnetType.PUBLIC }] });
vpc.addFlowLog('FlowLog');
const webRole = new iam.Role(stack, 'WebInstanceRole', {
  assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
  managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
});
Validations.of(webRole).acknowledge({
  id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
  reason: 'The SSM agent on the web instances needs the managed instance core policy to receive the deploy commands.',
});
const webTemplate = new ec2.LaunchTemplate(stack, 'WebTemplate', {
  machineImage: ec2.MachineImage.latestAmazonLinux2023(),
  instanceType: new ec2.InstanceType('t3.small'),
  role: webRole,
  requireImdsv2: true,
  blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(20, { encrypted: true }) }],
  userData: ec2.UserData.forLinux(),
});
const webGroup = new autoscaling.AutoScalingGroup(stack, 'WebGroup', {
  vpc,
  launchTemplate: webTemplate,
  minCapacity: 2,
  maxCapacity: 6,
});
Validations.of(webGroup).acknowledge({ id: 'AwsSolutions-AS3', reason: 'The example group\'s scaling events are watched in the console; a real app would notify an SNS topic.' });
new VmCommandStage(stack, 'DeployWeb', {
  targets: VmTargets.tags({ 'aws:autoscaling:groupName': [webGroup.autoScalingGroupName] }),
  command: VmCommand.shell(['/opt/web/deploy.sh "$COMMIT_ID"']),
  variableParameters: { COMMIT_ID: '#{Source.CommitId}' },
}).addToPipeline(pipeline, { stageName: 'DeployWeb' });
new AmiRefreshStage(stack, 'WebImage', {
  autoScalingGroup: webGroup,
  instanceRole: webRole,
  imageCapture: ImageCapture.standby(),
  commitId: '#{Source.CommitId}',
  instanceRefresh: { minHealthyPercentage: 50, instanceWarmup: Duration.minutes(2), autoRollback: true },
  pruning: ImagePruning.keepNewest(5),
}).addToPipeline(pipeline, { stageName: 'WebImage', variablesNamespace: 'WebImage' });

// Slack: failures anywhere in the pipeline and approvals waiting go to #alerts (EventBridge events);
// the Announce stage at the end posts each release to #releases. After deploying, put the webhooks
// in the secret: {"alerts": "https://hooks.slack.com/services/...", "releases": "https://hooks.slack.com/services/..."}
const slackWebhooks = new secretsmanager.Secret(stack, 'SlackWebhooks', { description: 'Slack incoming webhooks of the example pipeline' });
Validations.of(slackWebhooks).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Slack webhooks are replaced by hand in Slack; there is nothing a rotation function could rotate.' });
const slack = new SlackNotifyStage(stack, 'Slack', {
  channels: [
    { name: 'alerts', webhook: SlackWebhook.fromSecret(slackWebhooks, 'alerts'), outcomes: [SlackOutcome.FAILED, SlackOutcome.CANCELLED, SlackOutcome.APPROVAL] },
    { name: 'releases', webhook: SlackWebhook.fromSecret(slackWebhooks, 'releases'), outcomes: [SlackOutcome.SUCCEEDED] },
  ],
  pipeline,
  events: [PipelineEvent.EXECUTION_FAILED, PipelineEvent.EXECUTION_STOPPED, PipelineEvent.EXECUTION_SUPERSEDED, PipelineEvent.APPROVAL_WAITING],
  actionText: 'Released #{Source.CommitId}: #{Source.CommitMessage}',
});
slack.addToPipeline(pipeline, { stageName: 'Announce' });

// Every feature and bugfix branch is built on push, at exactly the pushed commit, in order per
// branch; a newer push stops the branch's outdated build; a sweep catches lost events every hour.
const branchBuilds = new codebuild.Project(stack, 'BranchBuilds', {
  description: 'Builds and tests feature and bugfix branches (buildspec.yml of the commit)',
  source: codebuild.Source.codeCommit({ repository }),
  environment: { buildImage: codebuild.LinuxBuildImage.STANDARD_7_0 },
});
Validations.of(branchBuilds).acknowledge({
  id: 'AwsSolutions-CB4',
  reason: 'Branch builds publish no artifacts; the build environment uses CodeBuild\'s AWS managed key.',
});
Validations.of(branchBuilds).acknowledge({
  id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/codebuild/<${stack.getLogicalId(branchBuilds.node.defaultChild as codebuild.CfnProject)}>:*]`,
  reason: 'aws-cdk-lib grants the project its own log group\'s streams.',
});
Validations.of(branchBuilds).acknowledge({
  id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:codebuild:<AWS::Region>:<AWS::AccountId>:report-group/<${stack.getLogicalId(branchBuilds.node.defaultChild as codebuild.CfnProject)}>-*]`,
  reason: 'aws-cdk-lib grants the project its own test report groups.',
});
new BranchBuildFanout(stack, 'Branches', {
  repository,
  target: FanoutTarget.codeBuild(branchBuilds),
  branches: ['feature/*', 'bugfix/*'],
  supersede: true,
  sweepInterval: Duration.hours(1),
});

// The pipeline's own role and its source action's role (made by aws-cdk-lib, not by this library)
// read and write pipeline artifacts: object-level wildcards inside the one artifact bucket. The
// library's actions acknowledge their own.
const sourceActionRole = pipeline.node.findChild('Source').node.findChild('Source').node.findChild('CodePipelineActionRole');
for (const finding of ['Action::s3:Abort*', 'Action::s3:DeleteObject*', 'Action::s3:GetBucket*', 'Action::s3:GetObject*', 'Action::s3:List*', `Resource::<${stack.getLogicalId(artifactBucket.node.defaultChild as s3.CfnBucket)}.Arn>/*`]) {
  for (const role of [pipeline.role, sourceActionRole]) {
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[${finding}]`,
      reason: 'CodePipeline roles read and write artifact objects in the pipeline\'s own artifact bucket.',
    });
  }
}

printSynthSummary(app.synth());
