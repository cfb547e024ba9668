import { Arn, Stack, Token } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { requireNonEmptyArray, requireNonEmptyString } from '../core/private/validation';

/** Options of a command that runs an SSM Command document. */
export interface VmCommandDocumentOptions {
  /**
   * The document's parameters.
   * @default - none (the document's defaults)
   */
  readonly parameters?: { [name: string]: string[] };
  /**
   * The document version to run, e.g. `$LATEST`, `$DEFAULT` or `3`.
   * @default - the document's default version
   */
  readonly documentVersion?: string;
  /**
   * The document parameter that takes the working directory, if the document has one.
   * @default - the document takes no working directory; setting `workingDirectory` is an error
   */
  readonly workingDirectoryParameter?: string;
  /**
   * The document parameter that takes the execution timeout in seconds, if the document has one.
   * @default - the document takes no execution timeout; the stage still stops waiting after its timeout
   */
  readonly executionTimeoutParameter?: string;
}

/** A command resolved for a stage. */
export interface VmCommandConfig {
  /** Name (or ARN, for a shared document) as SendCommand takes it. */
  readonly documentName: string;
  /** Name as SSM's command status events carry it. */
  readonly eventDocumentName: string;
  /** ARN for IAM. */
  readonly documentArn: string;
  /** @default - the default version */
  readonly documentVersion?: string;
  readonly parameters: { [name: string]: string[] };
  /** @default - none */
  readonly workingDirectoryParameter?: string;
  /** @default - none */
  readonly executionTimeoutParameter?: string;
  /**
   * For shell and PowerShell commands: parameters other than the document's own are set as
   * environment variables of the script.
   * @default - a document: every parameter is passed to it
   */
  readonly script?: string;
}

/** What a `VmCommandStage` runs on its targets. */
export class VmCommand {
  /** Shell lines run by `AWS-RunShellScript` (Linux, macOS). */
  public static shell(commands: string[]): VmCommand {
    return VmCommand.script('AWS-RunShellScript', 'shell', commands);
  }

  /** PowerShell lines run by `AWS-RunPowerShellScript` (Windows). */
  public static powerShell(commands: string[]): VmCommand {
    return VmCommand.script('AWS-RunPowerShellScript', 'powerShell', commands);
  }

  /** Runs an SSM Command document defined in this app. */
  public static document(document: ssm.CfnDocument, options: VmCommandDocumentOptions = {}): VmCommand {
    return new VmCommand(scope => ({
      ...VmCommand.fromOptions(options),
      documentName: document.ref,
      eventDocumentName: document.ref,
      documentArn: Stack.of(scope).formatArn({ service: 'ssm', resource: 'document', resourceName: document.ref }),
    }));
  }

  /**
   * Runs an existing SSM Command document by name (`AWS-...` documents are AWS-owned) or by ARN
   * (a document shared from another account).
   */
  public static documentName(nameOrArn: string, options: VmCommandDocumentOptions = {}): VmCommand {
    requireNonEmptyString('documentName', nameOrArn);
    return new VmCommand(scope => {
      const isArn = !Token.isUnresolved(nameOrArn) && nameOrArn.startsWith('arn:');
      const name = isArn ? nameOrArn.slice(nameOrArn.indexOf(':document/') + ':document/'.length) : nameOrArn;
      return {
        ...VmCommand.fromOptions(options),
        documentName: nameOrArn,
        eventDocumentName: name,
        documentArn: isArn ? nameOrArn : documentArn(scope, nameOrArn),
      };
    });
  }

  private static script(document: string, script: string, commands: string[]): VmCommand {
    requireNonEmptyArray('commands', commands);
    if (!Token.isUnresolved(commands)) commands.forEach((line, i) => requireNonEmptyString(`commands[${i}]`, line));
    const base = VmCommand.documentName(document, {
      parameters: { commands: [...commands] },
      workingDirectoryParameter: 'workingDirectory',
      executionTimeoutParameter: 'executionTimeout',
    });
    return new VmCommand(scope => ({ ...base.bind(scope), script }));
  }

  private static fromOptions(options: VmCommandDocumentOptions) {
    return {
      documentVersion: options.documentVersion,
      parameters: { ...options.parameters },
      workingDirectoryParameter: options.workingDirectoryParameter,
      executionTimeoutParameter: options.executionTimeoutParameter,
    };
  }

  private constructor(private readonly resolve: (scope: Construct) => VmCommandConfig) {}

  /** Resolves the command for a stage. */
  public bind(scope: Construct): VmCommandConfig {
    return this.resolve(scope);
  }
}

/** AWS-owned documents have no account in their ARN. */
function documentArn(scope: Construct, name: string): string {
  const stack = Stack.of(scope);
  const awsOwned = !Token.isUnresolved(name) && /^(AWS|Amazon)/.test(name);
  return awsOwned
    ? Arn.format({ service: 'ssm', account: '', resource: 'document', resourceName: name }, stack)
    : stack.formatArn({ service: 'ssm', resource: 'document', resourceName: name });
}
