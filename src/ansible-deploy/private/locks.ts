import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/**
 * The lock table every AnsibleDeployStage of a stack shares: one item per lock name, taken by a
 * conditional put and released by a conditional delete (lambda-src/ansible-deploy/lock.ts). Expired
 * leases are overwritten by the next run; DynamoDB's TTL removes forgotten items.
 */
export class AnsibleDeployLocks extends Construct {
  /** The stack's lock table, created with the first stage. */
  public static of(scope: Construct): AnsibleDeployLocks {
    const stack = Stack.of(scope);
    const id = 'AnsibleDeployStageLocks';
    return (stack.node.tryFindChild(id) as AnsibleDeployLocks | undefined) ?? new AnsibleDeployLocks(stack, id);
  }

  public readonly table: dynamodb.Table;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'lockName', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Locks are leases of running builds: nothing to keep when the stack goes.
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }

  /** Lets a build take and release one lock (its item only). */
  public grantLock(grantee: iam.IGrantable, lockName: string): void {
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:DeleteItem'],
      resources: [this.table.tableArn],
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [lockName] } },
    }));
  }
}
