import * as path from 'path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AssetName, HandlerName } from './assets';

/** Where the pre-built handler bundles sit, from both src/core/private and lib/core/private. */
const ASSETS_DIR = path.join(__dirname, '..', '..', '..', 'assets', 'lambda-src');

/** The Node.js runtime every bundled handler runs on; pinned so a CDK upgrade never changes it silently. */
export const HANDLER_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** A function from a construct's bundled asset. */
export interface BundledFunctionProps<A extends AssetName> {
  /** The construct's asset: its folder under `lambda-src/`. */
  readonly asset: A;
  /** The asset's export that handles the function's invocations. */
  readonly handler: HandlerName<A>;
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

/** The directory of a construct's bundled asset (synth fails if the library was built without it). */
export function assetPath(asset: string): string {
  return path.join(ASSETS_DIR, asset, 'handlers');
}

/**
 * Creates a Lambda function from a construct's asset, bundled when the library was built, with the
 * library's defaults: pinned runtime on ARM64, its own log group with retention, JSON logs.
 * The function's role is `fn.role`, for the construct to grant exactly what it needs.
 */
export function createBundledFunction<A extends AssetName>(scope: Construct, id: string, props: BundledFunctionProps<A>): lambda.Function {
  const logGroup = new logs.LogGroup(scope, `${id}LogGroup`, {
    retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
  });
  const fn = new lambda.Function(scope, id, {
    description: props.description,
    runtime: HANDLER_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    code: lambda.Code.fromAsset(assetPath(props.asset)),
    handler: `index.${props.handler}`,
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
