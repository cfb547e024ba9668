import { Stack, Token, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { IConstruct } from 'constructs';

/*
 * cdk-nag acknowledgements, kept next to the grants that need them. cdk-nag names a finding by the
 * policy resource as the template spells it, so these helpers spell ARNs its way.
 */

/** How cdk-nag spells an ARN of the stack's account and region in its finding ids. */
export function nagArn(stack: Stack, service: string, account: boolean, resource: string): string {
  const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
  const accountId = !account ? '' : Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  return `arn:<AWS::Partition>:${service}:${region}:${accountId}:${resource}`;
}

/** Acknowledges the cdk-nag finding for a wildcard resource in the policy of `scope` (a function or role). */
export function acknowledgeWildcard(scope: IConstruct, resource: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
}

/**
 * Acknowledges the finding aws-cdk-lib's invoke grants leave on `grantee`: they cover the
 * function's versions and aliases too (`<function ARN>:*`).
 */
export function acknowledgeInvokeOfVersions(grantee: IConstruct, fn: lambda.IFunction, reason: string): void {
  const logicalId = Stack.of(fn).getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
  acknowledgeWildcard(grantee, `<${logicalId}.Arn>:*`, reason);
}
