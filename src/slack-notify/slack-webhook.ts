import { Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { requireMatch, requireNonEmptyString } from '../core/private/validation';

/**
 * Where a Slack incoming-webhook URL is kept. The notifier's function reads it at run time (and
 * caches it per container); the URL is never put in the function's configuration.
 */
export class SlackWebhook {
  /**
   * A webhook kept in a Secrets Manager secret: the whole secret string, or one field of a JSON secret.
   * The function may read this secret only (and decrypt it with the secret's key, if it has one).
   * @param secret the secret
   * @param jsonField the field of the JSON secret that holds the URL (default: the secret string is the URL)
   */
  public static fromSecret(secret: secretsmanager.ISecret, jsonField?: string): SlackWebhook {
    requireNonEmptyString('jsonField', jsonField);
    return new SlackWebhook(secret, undefined, undefined, jsonField);
  }

  /**
   * A webhook kept in an SSM SecureString parameter. Import one with
   * `ssm.StringParameter.fromSecureStringParameterAttributes(...)`, giving its `encryptionKey` if it
   * is encrypted with a customer managed key.
   */
  public static fromSecureStringParameter(parameter: ssm.IStringParameter): SlackWebhook {
    return new SlackWebhook(undefined, parameter);
  }

  /**
   * A webhook kept in an SSM SecureString parameter, by name. The name may be a token (e.g. a
   * `CfnParameter`'s value): the function may then read the parameter under either form its ARN
   * can take (`parameter/name` and `parameter/path/name`), since the name's first character is
   * unknown at synth.
   * @param parameterName the parameter's name, e.g. `/slack/releases-webhook`
   * @param encryptionKey the customer managed key the parameter is encrypted with (default: the AWS managed key `aws/ssm`)
   */
  public static fromSecureStringParameterName(parameterName: string, encryptionKey?: kms.IKey): SlackWebhook {
    requireMatch('parameterName', parameterName, /^[a-zA-Z0-9_.\-/]{1,2048}$/, 'be an SSM parameter name (a-z, A-Z, 0-9, _, ., - and /)');
    return new SlackWebhook(undefined, undefined, { parameterName, encryptionKey });
  }

  private constructor(
    private readonly secret?: secretsmanager.ISecret,
    private readonly parameter?: ssm.IStringParameter,
    private readonly parameterByName?: { parameterName: string; encryptionKey?: kms.IKey },
    private readonly jsonField?: string,
  ) {}

  /**
   * Grants `grantee` read access to this webhook and returns where the function finds it.
   * @internal
   */
  public _bind(scope: Construct, id: string, grantee: iam.IGrantable): { [key: string]: string } {
    if (this.secret) {
      this.secret.grantRead(grantee);
      return this.jsonField ? { secretArn: this.secret.secretArn, jsonField: this.jsonField } : { secretArn: this.secret.secretArn };
    }
    if (this.parameterByName && Token.isUnresolved(this.parameterByName.parameterName)) {
      return this.bindTokenName(scope, grantee, this.parameterByName.parameterName, this.parameterByName.encryptionKey);
    }
    const parameter = this.parameter ?? ssm.StringParameter.fromSecureStringParameterAttributes(scope, id, {
      parameterName: this.parameterByName!.parameterName,
      encryptionKey: this.parameterByName!.encryptionKey,
    });
    parameter.grantRead(grantee);
    return { parameterName: parameter.parameterName };
  }

  /**
   * A parameter name that is a token: a name with a leading `/` has the ARN `...:parameter/path/name`,
   * a simple name `...:parameter/name`. Both are granted; the form that does not apply names no
   * parameter (no SSM parameter name has a `//` or lacks the separator).
   */
  private bindTokenName(scope: Construct, grantee: iam.IGrantable, parameterName: string, encryptionKey?: kms.IKey): { [key: string]: string } {
    const stack = Stack.of(scope);
    const prefix = `arn:${stack.partition}:ssm:${stack.region}:${stack.account}:parameter`;
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['ssm:DescribeParameters', 'ssm:GetParameters', 'ssm:GetParameter', 'ssm:GetParameterHistory'],
      resourceArns: [`${prefix}${parameterName}`, `${prefix}/${parameterName}`],
    });
    encryptionKey?.grantDecrypt(grantee);
    return { parameterName };
  }
}
