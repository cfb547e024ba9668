import { Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { VmTargets } from './targets';
import { acknowledgeWildcard, nagArn } from '../core/private/nag';

/** ARNs of every EC2 instance and every hybrid managed instance in the stack's account and region. */
function allInstanceArns(stack: Stack): string[] {
  return [
    stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' }),
    stack.formatArn({ service: 'ssm', resource: 'managed-instance', resourceName: '*' }),
  ];
}

function nagInstanceArns(stack: Stack): string[] {
  return [nagArn(stack, 'ec2', true, 'instance/*'), nagArn(stack, 'ssm', true, 'managed-instance/*')];
}

function instanceArns(stack: Stack, ids: string[]): string[] {
  return ids.flatMap(id => {
    const ec2 = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: id });
    const managed = stack.formatArn({ service: 'ssm', resource: 'managed-instance', resourceName: id });
    if (Token.isUnresolved(id)) return [ec2, managed];
    return id.startsWith('mi-') ? [managed] : [ec2];
  });
}

/**
 * Lets a function send the command: `ssm:SendCommand` on the document, on the output bucket when
 * the command writes to one (`OutputS3BucketName` names a resource of the request), and on exactly
 * the target instances (instance ids), on instances carrying the target tags (tag targets), or on
 * any instance when targets are only known at run time (resource groups, targets from the parameters file).
 */
export function grantSendCommand(
  fn: lambda.Function, targets: VmTargets, documentArn: string, targetsFromFile: boolean, outputBucketArn?: string,
): void {
  const stack = Stack.of(fn);
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['ssm:SendCommand'], resources: [documentArn] }));
  if (outputBucketArn) fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['ssm:SendCommand'], resources: [outputBucketArn] }));

  if (targets.targetInstanceIds && !targetsFromFile) {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['ssm:SendCommand'], resources: instanceArns(stack, targets.targetInstanceIds) }));
    return;
  }
  const resources = allInstanceArns(stack);
  if (targets.targetTags && !targetsFromFile) {
    const conditions: { [key: string]: string[] } = {};
    for (const [key, values] of Object.entries(targets.targetTags)) conditions[`ssm:resourceTag/${key}`] = values;
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['ssm:SendCommand'], resources, conditions: { StringEquals: conditions } }));
    for (const arn of nagInstanceArns(stack)) {
      acknowledgeWildcard(fn, arn, 'Tag targets are resolved by SSM when the command is sent; the statement only matches instances carrying the target tags (ssm:resourceTag condition).');
    }
    return;
  }
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['ssm:SendCommand'], resources }));
  const why = targetsFromFile
    ? 'The stage was configured with allowTargetsFromFile: the instances are chosen per run by the parameters file.'
    : 'Resource group members are only known when the stage runs; the group decides which instances receive the command.';
  for (const arn of nagInstanceArns(stack)) acknowledgeWildcard(fn, arn, why);
}
