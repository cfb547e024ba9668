import * as path from 'path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IConstruct } from 'constructs';

/** Where the pre-built handler bundles sit, from both src/core and lib/core. */
const ASSETS_DIR = path.join(__dirname, '..', '..', 'assets', 'lambda-src');

/** The Node.js runtime every bundled handler runs on; pinned so a CDK upgrade never changes it silently. */
export const HANDLER_RUNTIME = lambda.Runtime.NODEJS_24_X;

export interface BundledFunctionProps {
  /** Folder name of the handler under `lambda-src/`, e.g. `vm-command-submit`. */
  readonly handler: string;
  readonly description: string;
  readonly environment?: { [key: string]: string };
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.DESTROY for the log group */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** The asset path of a bundled handler (throws at synth if the library was built without it). */
export function handlerAssetPath(handler: string): string {
  return path.join(ASSETS_DIR, handler, 'handler');
}

/**
 * Creates a Lambda function from a handler bundled when the library was built, with the
 * library's defaults: pinned runtime on ARM64, its own log group with retention, JSON logs.
 * The function's role is `fn.role`, for the construct to grant exactly what it needs.
 */
export function createBundledFunction(scope: Construct, id: string, props: BundledFunctionProps): lambda.Function {
  const logGroup = new logs.LogGroup(scope, `${id}LogGroup`, {
    retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
  });
  const fn = new lambda.Function(scope, id, {
    description: props.description,
    runtime: HANDLER_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    code: lambda.Code.fromAsset(handlerAssetPath(props.handler)),
    handler: 'index.handler',
    timeout: props.timeout ?? Duration.seconds(30),
    memorySize: props.memorySize ?? 256,
    environment: props.environment,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
    systemLogLevelV2: lambda.SystemLogLevel.WARN,
  });
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason: 'AWSLambdaBasicExecutionRole only lets the function write its own logs.',
  });
  return fn;
}

/**
 * Acknowledges the finding aws-cdk-lib's invoke grants leave on `grantee`: they cover the
 * function's versions and aliases too (`<function ARN>:*`).
 */
export function acknowledgeInvokeOfVersions(grantee: IConstruct, fn: lambda.Function, reason: string): void {
  const logicalId = Stack.of(fn).getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
  Validations.of(grantee).acknowledge({ id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`, reason });
}
