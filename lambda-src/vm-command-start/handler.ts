import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { CodePipelineEvent } from 'aws-lambda';
import { unzipSync } from 'fflate';
import { z } from 'zod/v3';
import { InputError } from '../shared/errors';
import { parseInput, parseJson } from '../shared/input';
import { logger } from '../shared/logger';
import { CodePipelineJob, JobOutcome, runPipelineJob } from '../shared/pipeline-job';
import { reportOutcome } from '../shared/vm-command/report';
import { createRun, markReported, registerJob } from '../shared/vm-command/run-table';
import { Targets, TargetsSchema } from '../shared/vm-command/targets';

/*
 * The CodePipeline action's function. A new job: validates the parameters file against the
 * allowlist, merges the per-run parameters and starts the state machine, which reports the job's
 * result. A continuation job (the state machine renewed a long run's job): takes over reporting.
 */

const FILE_PARAMETER_SCHEMAS = {
  string: z.string(),
  stringList: z.array(z.string()),
  integer: z.number().int(),
  boolean: z.boolean(),
} as const;

const ConfigSchema = z.object({
  STATE_MACHINE_ARN: z.string().min(1),
  TABLE_NAME: z.string().min(1),
  TARGETS: z.string().transform(s => JSON.parse(s)).pipe(TargetsSchema),
  PARAMETERS_FILE: z.string().optional(),
  FILE_PARAMETERS: z.string().default('{}')
    .transform(s => JSON.parse(s))
    .pipe(z.record(z.string(), z.enum(['string', 'stringList', 'integer', 'boolean']))),
  ALLOW_TARGETS_FROM_FILE: z.enum(['true', 'false']).default('false').transform(v => v === 'true'),
});
type Config = z.infer<typeof ConfigSchema>;

const UserParametersSchema = z.object({
  pipelineExecutionId: z.string().optional(),
  variables: z.record(z.string(), z.string()).default({}),
}).strict();

/** What the state machine receives. */
export interface RunInput {
  readonly runId: string;
  readonly jobId: string;
  readonly targets: Targets;
  readonly parameters: Record<string, string[]>;
}

let sfnClient: SFNClient | undefined;
function sfn(): SFNClient {
  sfnClient ??= new SFNClient({});
  return sfnClient;
}

export const handler = (event: CodePipelineEvent): Promise<void> => runPipelineJob(event, async job => {
  const continuationToken = job.data.continuationToken;
  if (continuationToken) return continueRun(continuationToken, job.id);
  return startRun(job, parseInput(ConfigSchema, process.env, 'stage configuration'));
});

async function continueRun(runId: string, jobId: string): Promise<JobOutcome> {
  const run = await registerJob(runId, jobId);
  if (!run) throw new InputError(`run ${runId} is unknown (its record expired or was never created)`);
  logger.info('took over the renewed job', { runId, jobId });
  if (run.outcome && !run.reported) {
    await reportOutcome(jobId, run.outcome);
    await markReported(runId);
  }
  return { status: 'pending' };
}

async function startRun(job: CodePipelineJob, config: Config): Promise<JobOutcome> {
  const userParameters = parseInput(UserParametersSchema,
    parseJson(job.data.actionConfiguration.configuration.UserParameters || '{}', 'action user parameters'),
    'action user parameters');
  const parameters: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(userParameters.variables)) parameters[name] = [value];

  let targets = config.TARGETS;
  if (config.PARAMETERS_FILE) {
    const file = readParametersFile(config, await readArtifactFile(job, config.PARAMETERS_FILE));
    Object.assign(parameters, file.parameters);
    targets = file.targets ?? targets;
  }

  const runId = job.id;
  const input: RunInput = { runId, jobId: job.id, targets, parameters };
  // The run is recorded before the execution starts, so that even a run that ends at once finds it.
  const executionArn = `${config.STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${runId}`;
  await createRun({ runId, jobId: job.id, executionArn, pipelineExecutionId: userParameters.pipelineExecutionId });
  await sfn().send(new StartExecutionCommand({ stateMachineArn: config.STATE_MACHINE_ARN, name: runId, input: JSON.stringify(input) }));
  logger.info('started run', { runId, executionArn, parameterNames: Object.keys(parameters) });
  return { status: 'pending' };
}

/** Validates the parameters file against the allowlist and converts values to SSM parameter lists. */
function readParametersFile(config: Config, text: string): { parameters: Record<string, string[]>; targets?: Targets } {
  const what = `parameters file \`${config.PARAMETERS_FILE}\``;
  const shape = Object.fromEntries(Object.entries(config.FILE_PARAMETERS)
    .map(([name, type]) => [name, FILE_PARAMETER_SCHEMAS[type].optional()]));
  const schema = z.object({
    parameters: z.object(shape).strict().optional(),
    targets: config.ALLOW_TARGETS_FROM_FILE
      ? TargetsSchema.optional()
      : z.never({ invalid_type_error: 'targets may not come from the parameters file (the stage does not allow it)' }).optional(),
  }).strict();
  const file = parseInput(schema, parseJson(text, what), what);
  const parameters: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(file.parameters ?? {})) {
    if (value === undefined) continue;
    parameters[name] = Array.isArray(value) ? value : [String(value)];
  }
  return { parameters, targets: file.targets };
}

/** Reads one file from the job's input artifact (a zip in S3, read with the job's credentials). */
async function readArtifactFile(job: CodePipelineJob, filePath: string): Promise<string> {
  const artifact = job.data.inputArtifacts?.[0];
  if (!artifact) throw new InputError(`the action has no input artifact to read the parameters file \`${filePath}\` from`);
  const credentials = job.data.artifactCredentials;
  const s3 = new S3Client({
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, sessionToken: credentials.sessionToken },
  });
  const { bucketName, objectKey } = artifact.location.s3Location;
  const object = await s3.send(new GetObjectCommand({ Bucket: bucketName, Key: objectKey }));
  const zip = await object.Body!.transformToByteArray();
  const wanted = filePath.replace(/^\.?\//, '');
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip, { filter: entry => entry.name === wanted });
  } catch (err) {
    throw new InputError(`the input artifact \`${artifact.name}\` is not a readable zip: ${(err as Error).message}`);
  }
  const content = files[wanted];
  if (!content) throw new InputError(`parameters file \`${wanted}\` was not found in the input artifact \`${artifact.name}\``);
  return new TextDecoder().decode(content);
}
