import { Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { AnsibleHostAddress } from '../inventory';
import type { KnownHosts } from '../transport';

/* The resolved forms of the stage's enum-like choices: internal to the library. */

/** A buildspec `env` entry that the build reads from Parameter Store or Secrets Manager. */
export interface BuildSecretEnv {
  /** `parameter-store` or `secrets-manager`. */
  readonly source: 'parameter-store' | 'secrets-manager';
  /** The value of the buildspec entry: a parameter name, or `secret-id:json-key`. */
  readonly reference: string;
  /** Grants the build's role the read of exactly this value. */
  readonly grantRead: (grantee: iam.IGrantable) => void;
}

/** The transport's part of the build, resolved. */
export interface TransportConfig {
  readonly kind: 'ssh' | 'ssm';
  readonly user?: string;
  readonly port?: number;
  readonly privateKey?: BuildSecretEnv;
  readonly knownHosts?: KnownHosts;
  readonly instanceTags?: { [key: string]: string[] };
}

/** The inventory resolved for the build. */
export interface InventoryConfig {
  readonly file?: string;
  readonly ec2?: {
    readonly regions?: string[];
    readonly tagFilters: { [key: string]: string[] };
    readonly groupsByTag: string[];
    readonly hostAddress?: AnsibleHostAddress;
  };
}

/** The ARN of a parameter given by name (with or without a leading slash). */
export function parameterArn(scope: Construct, parameterName: string): string {
  const name = Token.isUnresolved(parameterName) || !parameterName.startsWith('/') ? parameterName : parameterName.slice(1);
  return Stack.of(scope).formatArn({ service: 'ssm', resource: 'parameter', resourceName: name });
}
