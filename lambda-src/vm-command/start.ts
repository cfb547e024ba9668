import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { CodePipelineEvent } from 'aws-lambda';
import { Unzip, UnzipInflate } from 'fflate';
import { z } from 'zod/v3';
import { Targets, TargetsSchema } from './targets';
import { REQUEST_LIMITS } from '../core/aws-clients';
import { InputError } from '../core/errors';
import { parseInput } from '../core/input';
import { handleJobStart, JobParametersSchema } from '../core/job-start';
import { logger } from '../core/logger';
import { FileParametersSchema, MAX_PARAMETERS_FILE_BYTES, parseParametersFile } from '../core/parameters-file';
import { CodePipelineJob } from '../core/pipeline-job';

/*
 * The VM stage's part of starting a run: validates the parameters file against the allowlist and
 * merges the per-run parameters. The core starts the state machine and handles renewed jobs.
 */

/** The action's user parameters, written by the construct; CodePipeline resolves the variables. */
const UserParametersSchema = JobParametersSchema.extend({
  variables: z.record(z.string(), z.string()).default({}),
  parametersFile: z.string().min(1).optional(),
  fileParameters: FileParametersSchema,
  allowTargetsFromFile: z.boolean().default(false),
}).strict();
type Config = z.infer<typeof UserParametersSchema>;

/** The construct's part of the execution input. The stage's own targets are in its state machine. */
export type RunInput = {
  readonly parameters: Record<string, string[]>;
  /** Targets chosen by the parameters file, or null. */
  readonly fileTargets: Targets | null;
};

export const start = (event: CodePipelineEvent): Promise<void> => handleJobStart(event, async (job, userParameters) => {
  const config = parseInput(UserParametersSchema, userParameters, 'action user parameters');
  const parameters: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(config.variables)) parameters[name] = [value];
  let fileTargets: Targets | null = null;
  if (config.parametersFile) {
    const file = readParametersFile(config, await readArtifactFile(job, config.parametersFile));
    Object.assign(parameters, file.parameters);
    fileTargets = file.targets ?? null;
  }
  logger.info('run parameters', { parameterNames: Object.keys(parameters), targetsFromFile: fileTargets !== null });
  const input: RunInput = { parameters, fileTargets };
  return input;
});

/** Validates the parameters file against the allowlist and converts values to SSM parameter lists. */
function readParametersFile(config: Config, text: string): { parameters: Record<string, string[]>; targets?: Targets } {
  const file = parseParametersFile(text, config.parametersFile!, config.fileParameters, {
    targets: config.allowTargetsFromFile
      ? TargetsSchema.optional()
      : z.never({ invalid_type_error: 'targets may not come from the parameters file (the stage does not allow it)' }).optional(),
  });
  const parameters: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(file.parameters)) {
    parameters[name] = Array.isArray(value) ? value : [String(value)];
  }
  return { parameters, targets: file.targets };
}

/**
 * Reads one file from the job's input artifact (a zip in S3, read with the job's credentials). The
 * zip is streamed and only the wanted entry is inflated, up to `MAX_PARAMETERS_FILE_BYTES`: a large
 * artifact or a zip bomb costs no memory.
 */
async function readArtifactFile(job: CodePipelineJob, filePath: string): Promise<string> {
  const artifact = job.data.inputArtifacts?.[0];
  if (!artifact) throw new InputError(`the action has no input artifact to read the parameters file \`${filePath}\` from`);
  const credentials = job.data.artifactCredentials;
  const s3 = new S3Client({
    requestHandler: REQUEST_LIMITS,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, sessionToken: credentials.sessionToken },
  });
  const { bucketName, objectKey } = artifact.location.s3Location;
  const object = await s3.send(new GetObjectCommand({ Bucket: bucketName, Key: objectKey }));
  const wanted = filePath.replace(/^\.?\//, '');
  const unreadable = (reason: string) => new InputError(`the input artifact \`${artifact.name}\` is not a readable zip: ${reason}`);

  const chunks: Uint8Array[] = [];
  let size = 0;
  let done = false;
  let failure: Error | undefined;
  const unzip = new Unzip(file => {
    if (file.name !== wanted) return;
    file.ondata = (err, chunk, final) => {
      if (err) failure = unreadable(err.message);
      size += chunk?.length ?? 0;
      if (size > MAX_PARAMETERS_FILE_BYTES) {
        failure = new InputError(`parameters file \`${wanted}\` is larger than ${MAX_PARAMETERS_FILE_BYTES / 1024} KiB`);
        file.terminate();
      } else if (chunk) {chunks.push(chunk);}
      done ||= final;
    };
    file.start();
  });
  unzip.register(UnzipInflate);
  const body = object.Body as AsyncIterable<Uint8Array>;
  let first = true;
  try {
    for await (const chunk of body) {
      if (first && !isZip(chunk)) throw unreadable('it does not start with a zip signature');
      first = false;
      unzip.push(chunk);
      if (failure) throw failure;
      if (done) break;
    }
    if (!done) unzip.push(new Uint8Array(0), true);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw unreadable((err as Error).message);
  }
  if (failure) throw failure;
  if (!done) throw new InputError(`parameters file \`${wanted}\` was not found in the input artifact \`${artifact.name}\``);
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** A zip starts with a local file header (or, when empty, the end of its central directory). */
function isZip(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 0x03 || head[2] === 0x05);
}
