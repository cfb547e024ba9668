import { Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { BuildSecretEnv, parameterArn, TransportConfig } from './private/config';
import { invalid, requireIntegerInRange, requireMatch, requireNonEmptyString } from '../core/private/validation';

/** Where the SSH private key of an `AnsibleTransport.ssh()` comes from. */
export class SshPrivateKey {
  /**
   * An SSM SecureString parameter that holds the PEM/OpenSSH private key.
   * @param parameterName the parameter's name (without a leading slash for a path is fine: `/ansible/key` or `ansible-key`)
   * @param encryptionKey the customer managed key the parameter is encrypted with, if not `aws/ssm`
   */
  public static fromSsmSecureString(parameterName: string, encryptionKey?: kms.IKey): SshPrivateKey {
    requireNonEmptyString('parameterName', parameterName);
    return new SshPrivateKey(scope => ({
      source: 'parameter-store',
      reference: parameterName,
      grantRead: grantee => {
        grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
          actions: ['ssm:GetParameters'],
          resources: [parameterArn(scope, parameterName)],
        }));
        encryptionKey?.grantDecrypt(grantee);
      },
    }));
  }

  /**
   * A Secrets Manager secret that holds the private key, as its whole string value or in one field
   * of its JSON value.
   * @param jsonField the JSON field that holds the key
   */
  public static fromSecret(secret: secretsmanager.ISecret, jsonField?: string): SshPrivateKey {
    if (jsonField !== undefined) requireMatch('jsonField', jsonField, /^[^:\s]+$/, 'be a JSON key without spaces or colons');
    return new SshPrivateKey(() => ({
      source: 'secrets-manager',
      reference: jsonField === undefined ? secret.secretArn : `${secret.secretArn}:${jsonField}`,
      grantRead: grantee => { secret.grantRead(grantee); },
    }));
  }

  private constructor(private readonly resolve: (scope: Construct) => BuildSecretEnv) {}

  /** @internal */
  public _bind(scope: Construct): BuildSecretEnv {
    return this.resolve(scope);
  }
}

/** How the build trusts the hosts' SSH keys. */
export class KnownHosts {
  /** An SSM parameter (String or SecureString) that holds known_hosts lines. */
  public static fromSsmParameter(parameterName: string): KnownHosts {
    requireNonEmptyString('parameterName', parameterName);
    return new KnownHosts({ parameterName });
  }

  /** A known_hosts file in the input artifact (its path relative to the artifact's root). */
  public static fromFile(path: string): KnownHosts {
    requireNonEmptyString('path', path);
    return new KnownHosts({ file: path });
  }

  /**
   * Accepts whatever host key a host presents (StrictHostKeyChecking=no). A host that is
   * impersonated then receives the run's commands and secrets: use it only for throwaway hosts.
   */
  public static insecureAcceptAny(): KnownHosts {
    return new KnownHosts({ acceptAny: true });
  }

  private constructor(
    /** @internal */ public readonly _source: { readonly parameterName?: string; readonly file?: string; readonly acceptAny?: boolean },
  ) {}
}

/** Options of the SSH transport. */
export interface SshTransportOptions {
  /** The private key the build connects with. */
  readonly privateKey: SshPrivateKey;
  /** The trusted host keys. Host key checking is strict. */
  readonly knownHosts: KnownHosts;
  /** The remote user. */
  readonly user: string;
  /**
   * The SSH port.
   * @default 22
   */
  readonly port?: number;
}

/** Options of the SSM Session Manager transport. */
export interface SsmTransportOptions {
  /**
   * Tags of the instances the build may start sessions on (`ssm:StartSession` is allowed only on
   * instances with one of these values for each key).
   * @default - the tag filters of an `AnsibleInventory.ec2Tags()` inventory (required with a file inventory)
   */
  readonly instanceTags?: { [key: string]: string[] };
  /**
   * The remote user that tasks become, if not the session's `ssm-user`.
   * @default - the session's user
   */
  readonly user?: string;
}

/** How ansible-playbook reaches the hosts. */
export class AnsibleTransport {
  /** OpenSSH with a private key from SSM or Secrets Manager and strict host key checking. */
  public static ssh(options: SshTransportOptions): AnsibleTransport {
    requireMatch('user', options.user, /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, 'be a user name of A-Z, a-z, 0-9, _, . and -');
    requireIntegerInRange('port', options.port, 1, 65535);
    return new AnsibleTransport(scope => ({
      kind: 'ssh', user: options.user, port: options.port ?? 22, privateKey: options.privateKey._bind(scope), knownHosts: options.knownHosts,
    }));
  }

  /**
   * The `community.aws.aws_ssm` connection plugin through Session Manager: no inbound port, no key.
   * The stage creates the plugin's transfer bucket and installs the session-manager-plugin.
   */
  public static ssm(options: SsmTransportOptions = {}): AnsibleTransport {
    if (options.user !== undefined) requireMatch('user', options.user, /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, 'be a user name of A-Z, a-z, 0-9, _, . and -');
    if (options.instanceTags && !Token.isUnresolved(options.instanceTags)) {
      for (const [key, values] of Object.entries(options.instanceTags)) {
        if (!values.length) invalid(`instanceTags.${key}`, 'not be empty', values);
      }
    }
    return new AnsibleTransport(() => ({ kind: 'ssm', user: options.user, instanceTags: options.instanceTags }));
  }

  private constructor(private readonly resolve: (scope: Construct) => TransportConfig) {}

  /** @internal */
  public _bind(scope: Construct): TransportConfig {
    return this.resolve(scope);
  }
}
