import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { buildSpecOf, projectEnv, projectStatements, runConfigOf, secretKeyTransport, sshTransport, stageStack } from './fixtures';
import { EXPORTED_VARIABLES as RUNNER_EXPORTS } from '../../lambda-src/ansible-deploy/run';
import {
  AnsibleDeployStage, AnsibleDeployStageProps, AnsibleHostAddress, AnsibleInventory, AnsibleTransport, FileParameterType, KnownHosts,
  PipelineStageStep, SshPrivateKey,
} from '../../src';
import { acknowledgeTestPipeline, cfnLint, synthWithAwsSolutionsChecks } from '../template-checks';
import { pipelineStack } from '../vm-command/fixtures';

const tagInventory = AnsibleInventory.ec2Tags({ tagFilters: { Role: ['web', 'api'], Env: ['prod'] }, groupsByTag: ['Role'] });

describe('the buildspec', () => {
  const template = Template.fromStack(stageStack().stack);
  const spec = buildSpecOf(template);

  test('reads the key and known_hosts through the buildspec env, exports the recap, and reports JUnit to the stage\'s report group', () => {
    expect(spec.version).toBe('0.2');
    expect(spec.env['parameter-store']).toEqual({ ANSIBLE_SSH_PRIVATE_KEY: '/ansible/deploy-key', ANSIBLE_KNOWN_HOSTS: '/ansible/known-hosts' });
    expect(spec.env['secrets-manager']).toBeUndefined();
    expect(spec.env['exported-variables']).toEqual(RUNNER_EXPORTS);
    expect(spec.env['exported-variables']).toEqual(expect.arrayContaining(
      ['ANSIBLE_OK', 'ANSIBLE_CHANGED', 'ANSIBLE_UNREACHABLE', 'ANSIBLE_FAILED', 'ANSIBLE_SKIPPED', 'ANSIBLE_RESCUED', 'ANSIBLE_IGNORED']));
    const [reportGroup] = Object.keys(spec.reports);
    expect(reportGroup).toMatch(/^TOKEN:DeployReports/);
    expect(spec.reports[reportGroup]).toEqual({ 'files': ['**/*.xml'], 'base-directory': '.ansible-stage/junit', 'file-format': 'JUNITXML' });
  });

  test('the install phase (not run by the tests: it needs PyPI and Galaxy) installs the pinned ansible-core, boto3 and amazon.aws, quoting the pins', () => {
    expect(spec.phases.install['runtime-versions']).toEqual({ python: '3.11', nodejs: '20' });
    expect(spec.phases.install.commands).toEqual([
      'python3 -m pip install --quiet --disable-pip-version-check "ansible-core==${ANSIBLE_CORE_VERSION}" "boto3==${BOTO3_VERSION}"',
      'ansible-galaxy collection install "amazon.aws:==${AMAZON_AWS_VERSION}"',
    ]);
    expect(projectEnv(template)).toMatchObject({ ANSIBLE_CORE_VERSION: '2.17.12', AMAZON_AWS_VERSION: '9.5.0', BOTO3_VERSION: '1.38.0' });
  });

  test('runs the runner\'s prepare before the build phase and its run in it; post_build removes the key and exports the recap', () => {
    expect(spec.phases.pre_build.commands.slice(-2)).toEqual(['node "$ANSIBLE_STAGE_RUNNER" prepare', 'unset ANSIBLE_SSH_PRIVATE_KEY']);
    expect(spec.phases.build.commands).toEqual(['node "$ANSIBLE_STAGE_RUNNER" run']);
    expect(spec.phases.post_build.commands[0]).toBe('rm -f .ansible-stage/id_ssh');
  });

  test('no user value is part of a command: they reach the build as environment variables and the run config JSON', () => {
    const { stack } = stageStack({ playbook: 'play $(reboot).yml', limit: 'web;rm -rf /', extraVars: { motd: '`id`' }, ansibleCoreVersion: '2.17.1' });
    const commands = JSON.stringify(buildSpecOf(Template.fromStack(stack)).phases);
    for (const value of ['$(reboot)', 'rm -rf', '`id`', '2.17.1']) expect(commands).not.toContain(value);
    expect(runConfigOf(Template.fromStack(stack))).toMatchObject({ playbook: 'play $(reboot).yml', limit: 'web;rm -rf /', extraVars: { motd: '`id`' } });
  });

  test('a key in Secrets Manager is read by `secrets-manager` with its JSON field; known_hosts from the artifact adds no parameter', () => {
    const { stack, pipeline, source } = pipelineStack();
    const { transport } = secretKeyTransport(stack);
    new AnsibleDeployStage(stack, 'Deploy', { playbook: 'site.yml', inventory: AnsibleInventory.fromFile('hosts'), transport }).addToPipeline(pipeline, { input: source });
    const secretSpec = buildSpecOf(Template.fromStack(stack));
    expect(secretSpec.env['secrets-manager']).toEqual({ ANSIBLE_SSH_PRIVATE_KEY: expect.stringMatching(/^TOKEN:DeployKey.*:privateKey$/) });
    expect(secretSpec.env['parameter-store']).toBeUndefined();
  });

  test('host key checking is off only through KnownHosts.insecureAcceptAny(): then no known_hosts is read', () => {
    const { stack } = stageStack({ transport: sshTransport({ knownHosts: KnownHosts.insecureAcceptAny() }) });
    const own = Template.fromStack(stack);
    expect(runConfigOf(own).transport.ssh.knownHosts).toEqual({ acceptAny: true });
    expect(buildSpecOf(own).env['parameter-store']).toEqual({ ANSIBLE_SSH_PRIVATE_KEY: '/ansible/deploy-key' });
    expect(runConfigOf(Template.fromStack(stageStack().stack)).transport.ssh.knownHosts).toEqual({ env: 'ANSIBLE_KNOWN_HOSTS' });
  });

  test('with `buildImage` nothing is installed and no pin is set', () => {
    const { stack } = stageStack({ buildImage: codebuild.LinuxBuildImage.fromDockerRegistry('example/ansible:2.17') });
    const own = Template.fromStack(stack);
    expect(buildSpecOf(own).phases.install).toBeUndefined();
    expect(Object.keys(projectEnv(own))).not.toContain('ANSIBLE_CORE_VERSION');
  });

  test('the run config carries the inventory plugin\'s settings, the lock and the transport', () => {
    const { stack } = stageStack({ inventory: tagInventory, forks: 20, verbosity: 2, tags: ['web'], skipTags: ['slow'], timeout: Duration.minutes(30), lockName: 'web-fleet' });
    expect(runConfigOf(Template.fromStack(stack))).toEqual({
      playbook: 'site.yml',
      inventory: { ec2: { regions: ['eu-west-1'], tagFilters: { Role: ['web', 'api'], Env: ['prod'] }, groupsByTag: ['Role'], hostname: 'private-ip-address' } },
      transport: { ssh: { user: 'deploy', port: 22, knownHosts: { env: 'ANSIBLE_KNOWN_HOSTS' } } },
      tags: ['web'],
      skipTags: ['slow'],
      forks: 20,
      verbosity: 2,
      extraVars: {},
      variableExtraVars: {},
      fileParameters: {},
      lock: { table: expect.stringMatching(/^<AnsibleDeployStageLocksTable/), name: 'web-fleet', ttlSeconds: 1800 },
    });
  });
});

describe('IAM', () => {
  test('the build reads only the key and known_hosts parameters and its runner object, holds only its own lock item, and writes its report group', () => {
    const template = Template.fromStack(stageStack().stack);
    const statements = projectStatements(template);
    const text = JSON.stringify(statements);
    expect(statements).toContainEqual(expect.objectContaining({
      Action: 'ssm:GetParameters',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:eu-west-1:111111111111:parameter/ansible/deploy-key']] },
    }));
    expect(statements).toContainEqual(expect.objectContaining({
      Action: 'ssm:GetParameters',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:eu-west-1:111111111111:parameter/ansible/known-hosts']] },
    }));
    expect(statements).toContainEqual(expect.objectContaining({
      Action: 's3:GetObject',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, expect.stringMatching(/^:s3:::cdk-hnb659fds-assets-111111111111-eu-west-1\/[0-9a-f]{64}\.js$/)]] },
    }));
    expect(statements).toContainEqual(expect.objectContaining({
      Action: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:DeleteItem'],
      Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [expect.stringMatching(/^c8[0-9a-f]{40}$/)] } },
    }));
    expect(text).toContain('codebuild:BatchPutTestCases');
    expect(text).not.toContain('ec2:DescribeInstances');
    expect(text).not.toContain('ssm:StartSession');
    for (const statement of statements) expect([statement.Action].flat()).not.toContain('*');
  });

  test('a key in Secrets Manager: read of that secret only', () => {
    const { stack, pipeline, source } = pipelineStack();
    const { transport } = secretKeyTransport(stack);
    new AnsibleDeployStage(stack, 'Deploy', { playbook: 'site.yml', inventory: AnsibleInventory.fromFile('hosts'), transport }).addToPipeline(pipeline, { input: source });
    const statements = projectStatements(Template.fromStack(stack));
    expect(statements).toContainEqual(expect.objectContaining({
      Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: { Ref: expect.stringMatching(/^DeployKey/) },
    }));
    expect(JSON.stringify(statements)).not.toContain('ssm:GetParameters');
  });

  test('the EC2 tag inventory adds ec2:DescribeInstances (no resource-level permissions)', () => {
    const statements = projectStatements(Template.fromStack(stageStack({ inventory: tagInventory }).stack));
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'ec2:DescribeInstances', Resource: '*' }));
  });
});

describe('the SSM transport (synth only: Session Manager cannot run here)', () => {
  const { stack } = stageStack({ transport: AnsibleTransport.ssm(), inventory: tagInventory });
  const template = Template.fromStack(stack);

  test('a transfer bucket: SSE-S3, TLS only, objects expire after a day', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 1, Status: 'Enabled' })] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  test('ssm:StartSession only on instances with the inventory\'s tags, and on the session document; the transfer bucket only', () => {
    const statements = projectStatements(template);
    expect(statements).toContainEqual(expect.objectContaining({
      Action: 'ssm:StartSession',
      Condition: { StringEquals: { 'ssm:resourceTag/Role': ['web', 'api'], 'ssm:resourceTag/Env': ['prod'] } },
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:eu-west-1:111111111111:instance/*']] },
    }));
    expect(statements).toContainEqual(expect.objectContaining({
      Action: 'ssm:StartSession',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:eu-west-1:111111111111:document/SSM-SessionManagerRunShell']] },
    }));
    expect(statements).toContainEqual(expect.objectContaining({
      Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^DeployTransferBucket/), 'Arn'] }, '/*']] },
    }));
    expect(JSON.stringify(statements)).not.toContain('ANSIBLE_SSH_PRIVATE_KEY');
  });

  // Service Authorization Reference, AWS Systems Manager: TerminateSession and ResumeSession act on `session` and take
  // the condition keys ssm:resourceTag/aws:ssmmessages:session-id and .../target-id; the Session Manager user guide's
  // "Allow a user to end only sessions they started" matches the session-id tag to ${aws:userid} (an assumed role's
  // session ids are not `${aws:userid}-...`, so a `session/${aws:userid}-*` resource never matches them).
  test('sessions: end or resume only those the build\'s own role session started (the session-id tag), not by a session-name pattern', () => {
    const statements = projectStatements(template);
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['ssm:TerminateSession', 'ssm:ResumeSession'],
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:eu-west-1:111111111111:session/*']] },
      Condition: { StringLike: { 'ssm:resourceTag/aws:ssmmessages:session-id': ['${aws:userid}'] } },
    });
    expect(JSON.stringify(statements)).not.toContain('session/${aws:userid}');
  });

  // community.aws 10 moved the plugin to amazon.aws 10 (docs.ansible.com, "community.aws.aws_ssm connection": a redirect
  // to amazon.aws.aws_ssm); amazon.aws 10 needs ansible-core 2.17 or later.
  test('the connection plugin follows the pinned collections: community.aws.aws_ssm before amazon.aws 10, amazon.aws.aws_ssm from 10', () => {
    expect(runConfigOf(template).transport.ssm.plugin).toBe('community.aws.aws_ssm');
    const ten = Template.fromStack(stageStack({ transport: AnsibleTransport.ssm(), inventory: tagInventory, amazonAwsCollectionVersion: '10.1.0' }).stack);
    expect(runConfigOf(ten).transport.ssm.plugin).toBe('amazon.aws.aws_ssm');
    expect(buildSpecOf(ten).phases.install.commands.join('\n')).not.toContain('community.aws');
    expect(projectEnv(ten).COMMUNITY_AWS_VERSION).toBeUndefined();
    const both = Template.fromStack(stageStack({
      transport: AnsibleTransport.ssm(), inventory: tagInventory, amazonAwsCollectionVersion: '10.1.0', communityAwsCollectionVersion: '10.0.0',
    }).stack);
    expect(runConfigOf(both).transport.ssm.plugin).toBe('amazon.aws.aws_ssm');
    expect(buildSpecOf(both).phases.install.commands).toContain('ansible-galaxy collection install "community.aws:==${COMMUNITY_AWS_VERSION}"');
    const image = Template.fromStack(stageStack({ transport: AnsibleTransport.ssm(), inventory: tagInventory, buildImage: codebuild.LinuxBuildImage.fromDockerRegistry('ansible:latest') }).stack);
    expect(runConfigOf(image).transport.ssm.plugin).toBe('community.aws.aws_ssm');
  });

  test('the buildspec installs community.aws and the session-manager-plugin, reads no key, and the hosts are addressed by instance id', () => {
    const spec = buildSpecOf(template);
    expect(spec.env['parameter-store']).toBeUndefined();
    expect(spec.phases.install.commands).toEqual(expect.arrayContaining([
      'ansible-galaxy collection install "community.aws:==${COMMUNITY_AWS_VERSION}"',
      'dpkg -i /tmp/session-manager-plugin.deb',
    ]));
    const config = runConfigOf(template);
    expect(config.inventory.ec2.hostname).toBe('instance-id');
    expect(config.transport).toEqual({ ssm: { bucket: expect.stringMatching(/^<DeployTransferBucket/), plugin: 'community.aws.aws_ssm' } });
  });

  test('with a file inventory, the instance tags come from the transport', () => {
    const own = stageStack({ transport: AnsibleTransport.ssm({ instanceTags: { Fleet: ['blue'] } }) });
    expect(projectStatements(Template.fromStack(own.stack))).toContainEqual(expect.objectContaining({
      Action: 'ssm:StartSession', Condition: { StringEquals: { 'ssm:resourceTag/Fleet': ['blue'] } },
    }));
  });
});

describe('actions', () => {
  test('one CodeBuild action by default, with the CodePipeline variables of the extra vars in its environment', () => {
    const { stack } = stageStack({ variableExtraVars: { commit: '#{Source.ETag}' } });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::CodePipeline::Pipeline', {
      Stages: Match.arrayWith([Match.objectLike({
        Name: 'Deploy',
        Actions: [Match.objectLike({
          Name: 'Deploy',
          ActionTypeId: { Category: 'Build', Owner: 'AWS', Provider: 'CodeBuild', Version: '1' },
          Configuration: Match.objectLike({
            EnvironmentVariables: JSON.stringify([
              { name: 'ANSIBLE_STAGE_MODE', type: 'PLAINTEXT', value: 'apply' },
              { name: 'ANSIBLE_STAGE_VAR_0', type: 'PLAINTEXT', value: '#{Source.ETag}' },
            ]),
          }),
        })],
      })]),
    });
    expect(runConfigOf(template).variableExtraVars).toEqual({ commit: 'ANSIBLE_STAGE_VAR_0' });
  });

  test('preview renders the check, an approval with the check\'s summary, and the apply limited to the check\'s hosts, on the same artifact', () => {
    const { stack } = stageStack({ preview: true, approvalTopic: undefined }, { variablesNamespace: 'Ansible' });
    const [pipeline] = Object.values(Template.fromStack(stack).findResources('AWS::CodePipeline::Pipeline')) as any[];
    const actions = pipeline.Properties.Stages.find((s: any) => s.Name === 'Deploy').Actions;
    expect(actions.map((a: any) => [a.Name, a.RunOrder, a.ActionTypeId.Category, a.Namespace])).toEqual([
      ['Deploy', 1, 'Build', 'Ansible'],
      ['Deploy-Approve', 2, 'Approval', undefined],
      ['Deploy-Apply', 3, 'Build', 'Ansible-Apply'],
    ]);
    expect(JSON.parse(actions[0].Configuration.EnvironmentVariables)).toEqual([{ name: 'ANSIBLE_STAGE_MODE', type: 'PLAINTEXT', value: 'check' }]);
    expect(actions[1].Configuration.CustomData).toBe('Ansible check: #{Ansible.ANSIBLE_SUMMARY}');
    expect(JSON.parse(actions[2].Configuration.EnvironmentVariables)).toEqual([
      { name: 'ANSIBLE_STAGE_MODE', type: 'PLAINTEXT', value: 'apply' },
      { name: 'ANSIBLE_STAGE_PREVIEW_HOSTS', type: 'PLAINTEXT', value: '#{Ansible.ANSIBLE_HOSTS}' },
    ]);
    expect(actions[0].InputArtifacts).toEqual([{ Name: 'Source' }]);
    expect(actions[2].InputArtifacts).toEqual([{ Name: 'Source' }]);
    expect(actions[0].Configuration.ProjectName).toEqual(actions[2].Configuration.ProjectName);
  });

  test('preview without a namespace gets one of its own; the approval notifies the topic', () => {
    const { stack } = pipelineStack();
    const topic = new sns.Topic(stack, 'Approvals', { enforceSSL: true });
    const stage = new AnsibleDeployStage(stack, 'Deploy', { playbook: 'site.yml', inventory: AnsibleInventory.fromFile('hosts'), transport: sshTransport(), preview: true, approvalTopic: topic });
    const { pipeline, source } = { pipeline: stack.node.findChild('Pipeline') as any, source: (stack.node.findChild('Pipeline') as any).stages[0].actions[0].actionProperties.outputs[0] };
    stage.addToPipeline(pipeline, { input: source });
    const [cfnPipeline] = Object.values(Template.fromStack(stack).findResources('AWS::CodePipeline::Pipeline')) as any[];
    const actions = cfnPipeline.Properties.Stages.find((s: any) => s.Name === 'Deploy').Actions;
    expect(actions[0].Namespace).toMatch(/^Deploy-[0-9A-F]{8}$/);
    expect(actions[1].Configuration.CustomData).toBe(`Ansible check: #{${actions[0].Namespace}.ANSIBLE_SUMMARY}`);
    expect(actions[1].Configuration.NotificationArn).toEqual({ Ref: expect.stringMatching(/^Approvals/) });
  });

  test('the project runs in the VPC when one is given, with its own security group', () => {
    const { stack, pipeline, source } = pipelineStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    new AnsibleDeployStage(stack, 'Deploy', {
      playbook: 'site.yml', inventory: AnsibleInventory.fromFile('hosts'), transport: sshTransport(), vpc, subnetSelection: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    }).addToPipeline(pipeline, { input: source });
    const [project] = Object.values(Template.fromStack(stack).findResources('AWS::CodeBuild::Project')) as any[];
    expect(project.Properties.VpcConfig).toEqual({
      VpcId: { Ref: expect.stringMatching(/^Vpc/) },
      Subnets: [1, 2, 3].map(n => ({ Ref: expect.stringMatching(new RegExp(`^VpcisolatedSubnet${n}`)) })),
      SecurityGroupIds: [{ 'Fn::GetAtt': [expect.stringMatching(/^DeployProjectSecurityGroup/), 'GroupId'] }],
    });
  });

  test('works as a CDK Pipelines step, with preview: the three actions in the wave', () => {
    const app = new App();
    const stack = new Stack(app, 'CdkPipelineStack', { env: { account: '111111111111', region: 'eu-west-1' } });
    const bucket = new s3.Bucket(stack, 'SourceBucket', { versioned: true });
    const source = pipelines.CodePipelineSource.s3(bucket, 'src.zip');
    const pipeline = new pipelines.CodePipeline(stack, 'Pipeline', {
      synth: new pipelines.ShellStep('Synth', { input: source, commands: ['echo synth'], primaryOutputDirectory: '.' }),
    });
    const stage = new AnsibleDeployStage(stack, 'Configure', { playbook: 'site.yml', inventory: AnsibleInventory.fromFile('hosts'), transport: sshTransport(), preview: true });
    pipeline.addWave('Hosts', { post: [PipelineStageStep.fromStage(stage, { input: source })] });
    pipeline.buildPipeline();
    const [cfnPipeline] = Object.values(Template.fromStack(stack).findResources('AWS::CodePipeline::Pipeline')) as any[];
    const wave = cfnPipeline.Properties.Stages.find((s: any) => s.Name === 'Hosts');
    expect(wave.Actions.map((a: any) => [a.Name, a.ActionTypeId.Provider])).toEqual([
      ['Configure', 'CodeBuild'], ['Configure-Approve', 'Manual'], ['Configure-Apply', 'CodeBuild'],
    ]);
    expect(wave.Actions[0].InputArtifacts).toEqual(wave.Actions[2].InputArtifacts);
  });

  test('the lock table is encrypted like the other tables of the library (AWS managed key)', () => {
    Template.fromStack(stageStack().stack).hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'lockName', KeyType: 'HASH' }],
      SSESpecification: { SSEEnabled: true },
    });
  });

  test('isolated subnets with the default image (which installs from PyPI, Galaxy and the plugin download) warn at synth; egress subnets or a buildImage do not', () => {
    const warned = (subnetType: ec2.SubnetType, extra: Partial<AnsibleDeployStageProps> = {}) => {
      const { stack, pipeline, source } = pipelineStack();
      const vpc = new ec2.Vpc(stack, 'Vpc', {
        natGateways: 1,
        subnetConfiguration: [
          { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
          { name: 'egress', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
          { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        ],
      });
      new AnsibleDeployStage(stack, 'Deploy', {
        playbook: 'site.yml', inventory: AnsibleInventory.fromFile('hosts'), transport: sshTransport(), vpc, subnetSelection: { subnetType }, ...extra,
      }).addToPipeline(pipeline, { input: source });
      return Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('isolated subnets')).map(w => w.entry.data);
    };
    expect(warned(ec2.SubnetType.PRIVATE_ISOLATED)).toEqual([expect.stringContaining(
      'AnsibleDeployStage at PipelineStack/Deploy: the build runs in isolated subnets (no route out), but the default image installs ansible-core')]);
    expect(warned(ec2.SubnetType.PRIVATE_WITH_EGRESS)).toEqual([]);
    expect(warned(ec2.SubnetType.PRIVATE_ISOLATED, { buildImage: codebuild.LinuxBuildImage.fromDockerRegistry('ansible:latest') })).toEqual([]);
  });

  test('two stages in a stack share one lock table', () => {
    const { stack, pipeline, source } = pipelineStack();
    for (const id of ['Web', 'Db']) {
      new AnsibleDeployStage(stack, id, { playbook: `${id}.yml`, inventory: AnsibleInventory.fromFile('hosts'), transport: sshTransport() }).addToPipeline(pipeline, { input: source });
    }
    Template.fromStack(stack).resourceCountIs('AWS::DynamoDB::Table', 1);
    Template.fromStack(stack).resourceCountIs('AWS::CodeBuild::Project', 2);
  });
});

describe('validation', () => {
  const invalidProps: Array<[string, () => Partial<AnsibleDeployStageProps>, string]> = [
    ['empty playbook', () => ({ playbook: ' ' }), '`playbook` must not be empty, got: \' \''],
    ['playbook like an option', () => ({ playbook: '--help' }), '`playbook` must be a path that does not start with - or a space, got: \'--help\''],
    ['empty limit', () => ({ limit: '' }), '`limit` must not be empty, got: \'\''],
    ['tag with a comma', () => ({ tags: ['a,b'] }), '`tags` must be tags without commas or spaces, got: \'a,b\''],
    ['skip tag with a space', () => ({ skipTags: ['a b'] }), '`skipTags` must be tags without commas or spaces, got: \'a b\''],
    ['forks', () => ({ forks: 0 }), '`forks` must be an integer from 1 to 1000, got: 0'],
    ['verbosity', () => ({ verbosity: 5 }), '`verbosity` must be an integer from 0 to 4, got: 5'],
    ['extra var name', () => ({ extraVars: { 'my-var': 1 } }), '`extra var name` must be a variable name (a letter or _, then letters, digits and _), got: \'my-var\''],
    ['variable extra var name', () => ({ variableExtraVars: { '1st': '#{Source.ETag}' } }), '`extra var name` must be a variable name (a letter or _, then letters, digits and _), got: \'1st\''],
    ['file parameter name', () => ({ parametersFile: 'p.json', fileParameters: { 'a.b': FileParameterType.STRING } }), '`extra var name` must be a variable name'],
    ['fileParameters without parametersFile', () => ({ fileParameters: { a: FileParameterType.STRING } }), '`fileParameters` must be used with `parametersFile`, got: ["a"]'],
    ['empty parametersFile', () => ({ parametersFile: '' }), '`parametersFile` must not be empty, got: \'\''],
    ['approvalTopic without preview', () => ({ approvalTopic: sns.Topic.fromTopicArn(new Stack(), 'T', 'arn:aws:sns:eu-west-1:111111111111:t') }), '`approvalTopic` must be used with `preview`, got: \'Default/T\''],
    ['lockName', () => ({ lockName: 'a b' }), '`lockName` must be 1 to 255 characters of A-Z, a-z, 0-9, _, ., :, / and -, got: \'a b\''],
    ['pin with buildImage', () => ({ buildImage: codebuild.LinuxBuildImage.STANDARD_7_0, ansibleCoreVersion: '2.17.1' }), '`ansibleCoreVersion` must not be set with `buildImage` (the stage installs nothing on your image), got: \'2.17.1\''],
    ['pin', () => ({ amazonAwsCollectionVersion: '9.5.0; curl x' }), '`amazonAwsCollectionVersion` must be a version such as 2.17.12, got: \'9.5.0; curl x\''],
    ['empty requirements file', () => ({ pythonRequirementsFile: '' }), '`pythonRequirementsFile` must not be empty, got: \'\''],
    ['amazon.aws 10 on ansible-core 2.16', () => ({ amazonAwsCollectionVersion: '10.0.0', ansibleCoreVersion: '2.16.14' }),
      '`ansibleCoreVersion` must be 2.17 or later with amazon.aws 10.0.0 (amazon.aws 10 supports ansible-core 2.17 and later), got: \'2.16.14\''],
    ['community.aws 10 on amazon.aws 9', () => ({ communityAwsCollectionVersion: '10.0.0' }),
      '`amazonAwsCollectionVersion` must be 10 or later with community.aws 10.0.0 (community.aws 10 depends on amazon.aws 10, which carries the aws_ssm plugin), got: \'9.5.0\''],
    ['subnets without vpc', () => ({ subnetSelection: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } }), '`subnetSelection` must be used with `vpc`'],
    ['timeout', () => ({ timeout: Duration.minutes(1) }), '`timeout` must be from 5 minutes to 1 day 12 hours, got: \'1 minute\''],
    ['SSM with a file inventory and no tags', () => ({ transport: AnsibleTransport.ssm() }), '`instanceTags` must be set for the SSM transport with a file inventory (ssm:StartSession is allowed on instances with these tags), got: undefined'],
  ];
  test.each(invalidProps)('%s', (_, props, message) => {
    expect(() => stageStack(props())).toThrow(`AnsibleDeployStage at PipelineStack/Deploy: ${message}`);
  });

  test.each<[string, () => unknown, string]>([
    ['ssh user', () => AnsibleTransport.ssh({ privateKey: SshPrivateKey.fromSsmSecureString('k'), knownHosts: KnownHosts.insecureAcceptAny(), user: 'root;id' }), '`user` must be a user name of A-Z, a-z, 0-9, _, . and -, got: \'root;id\''],
    ['ssh port', () => AnsibleTransport.ssh({ privateKey: SshPrivateKey.fromSsmSecureString('k'), knownHosts: KnownHosts.insecureAcceptAny(), user: 'u', port: 70000 }), '`port` must be an integer from 1 to 65535, got: 70000'],
    ['key parameter', () => SshPrivateKey.fromSsmSecureString(''), '`parameterName` must not be empty, got: \'\''],
    ['secret field', () => SshPrivateKey.fromSecret({} as any, 'a:b'), '`jsonField` must be a JSON key without spaces or colons, got: \'a:b\''],
    ['known_hosts file', () => KnownHosts.fromFile(''), '`path` must not be empty, got: \'\''],
    ['ssm tags', () => AnsibleTransport.ssm({ instanceTags: { Role: [] } }), '`instanceTags.Role` must not be empty, got: []'],
    ['inventory file', () => AnsibleInventory.fromFile(''), '`inventory path` must not be empty, got: \'\''],
    ['no tag filter', () => AnsibleInventory.ec2Tags({ tagFilters: {} }), '`tagFilters` must name at least one tag, got: {}'],
    ['empty tag values', () => AnsibleInventory.ec2Tags({ tagFilters: { Role: [] } }), '`tagFilters.Role` must not be empty'],
    ['region', () => AnsibleInventory.ec2Tags({ tagFilters: { Role: ['web'] }, regions: ['Europe'] }), '`region` must be a region name such as eu-west-1, got: \'Europe\''],
    ['group key', () => AnsibleInventory.ec2Tags({ tagFilters: { Role: ['web'] }, groupsByTag: ['a"b'] }), '`groupsByTag` must be tag keys, got: \'a"b\''],
    ['address tag', () => AnsibleHostAddress.tag('a b'), '`tag key` must be 1 to 128 characters without spaces, commas or =, got: \'a b\''],
  ])('%s', (_, make, message) => {
    expect(make).toThrow(message);
  });

  test('the stage needs an input artifact', () => {
    const { stack, pipeline } = pipelineStack();
    const stage = new AnsibleDeployStage(stack, 'Deploy', { playbook: 'site.yml', inventory: AnsibleInventory.fromFile('hosts'), transport: sshTransport() });
    expect(() => stage.addToPipeline(pipeline)).toThrow('AnsibleDeployStage at PipelineStack/Deploy: `input` must be set: the stage reads its playbook \'site.yml\' from it, got: undefined');
  });
});

describe('compliance', () => {
  test.each<[string, Partial<AnsibleDeployStageProps>]>([
    ['SSH with an EC2 tag inventory and preview', { inventory: tagInventory, preview: true }],
    ['SSM with a transfer bucket', { transport: AnsibleTransport.ssm(), inventory: tagInventory }],
  ])('%s passes cdk-nag AwsSolutions with only the test pipeline\'s findings acknowledged', (_, props) => {
    const app = new App();
    const { stack } = stageStack(props, { app });
    acknowledgeTestPipeline(stack);
    expect(() => synthWithAwsSolutionsChecks(app)).not.toThrow();
  });

  test('SSH and SSM stages pass cfn-lint', () => {
    const { stack, pipeline, source } = pipelineStack();
    new AnsibleDeployStage(stack, 'Ssh', { playbook: 'site.yml', inventory: tagInventory, transport: sshTransport(), preview: true }).addToPipeline(pipeline, { input: source });
    new AnsibleDeployStage(stack, 'Ssm', { playbook: 'site.yml', inventory: tagInventory, transport: AnsibleTransport.ssm() }).addToPipeline(pipeline, { input: source });
    const result = cfnLint(stack);
    expect(result.output).not.toMatch(/^E\d+/m);
    expect(result.status).toBe(0);
  });
});
