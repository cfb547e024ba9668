import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { z } from 'zod/v3';
import { undoWork } from './cleanup';
import { AmiWork, ConfigSchema } from './config';
import { reasonOf } from '../core/errors';
import { parseInput } from '../core/input';
import { settleRun, SettleResult } from '../core/job-report';
import { dynamodb, getRun, tableName } from '../core/job-table';
import { logger } from '../core/logger';
import { Outcome } from '../core/outcome';
import { describeStepError } from '../core/step-error';

/*
 * The state machine's last task, on every path: reports the outcome to CodePipeline once. After an
 * error it first cancels (or rolls back) the refresh and returns the instance to service, from
 * what the run recorded; what could not be undone is said in the reason and never blocks the report.
 */

const ImageDetail = z.object({
  ImageId: z.string().optional(),
  State: z.string().optional(),
  StateReason: z.object({ Code: z.string().optional(), Message: z.string().optional() }).nullish(),
}).passthrough();
const RefreshDetail = z.object({
  InstanceRefreshId: z.string().optional(),
  Status: z.string().optional(),
  StatusReason: z.string().nullish(),
}).passthrough();

const EventSchema = z.object({
  config: ConfigSchema,
  run: z.object({
    runId: z.string().min(1),
    image: z.object({ imageId: z.string() }).optional(),
    imageStatus: z.object({ detail: ImageDetail.nullish() }).optional(),
    published: z.object({
      imageId: z.string(),
      launchTemplateVersion: z.number(),
      regionCopies: z.record(z.string(), z.string()),
      deletedVersions: z.number().default(0),
      versionsProblem: z.string().optional(),
    }).optional(),
    refresh: z.object({ refreshId: z.string() }).optional(),
    refreshStatus: z.object({ detail: RefreshDetail.nullish() }).optional(),
    pruned: z.object({ deregistered: z.array(z.string()), kept: z.array(z.string()), problems: z.array(z.string()) }).optional(),
    pruneError: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
    error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
  }).passthrough(),
});
type Run = z.infer<typeof EventSchema>['run'];

export async function finish(event: unknown): Promise<{ result: SettleResult; succeeded: boolean }> {
  const { run, config } = parseInput(EventSchema, event, 'finish input');
  let outcome: Outcome;
  if (run.error || !run.published) {
    const work = (await getRun(run.runId))?.work as AmiWork | undefined;
    const undone = await undoWork(work ?? { groupName: config.groupName });
    const message = failureReason(run);
    outcome = { succeeded: false, message: undone ? `${message}\n${undone}` : message };
  } else {
    outcome = {
      succeeded: true,
      message: summary(run),
      outputVariables: {
        ImageId: run.published.imageId,
        LaunchTemplateVersion: String(run.published.launchTemplateVersion),
        InstanceRefreshId: run.refresh?.refreshId ?? '',
      },
    };
  }
  await forgetWaits(run);
  const result = await settleRun(run.runId, outcome);
  logger.info('run finished', { runId: run.runId, succeeded: outcome.succeeded, result });
  return { result, succeeded: outcome.succeeded };
}

function failureReason(run: Run): string {
  const error = run.error?.Error;
  if (error === 'ImageFailed') {
    const detail = run.imageStatus?.detail;
    const reason = detail?.StateReason?.Message || detail?.StateReason?.Code || 'no reason given';
    return `image ${detail?.ImageId ?? run.image?.imageId} ended ${detail?.State ?? 'failed'}: ${reason}`;
  }
  if (error === 'InstanceRefreshFailed') {
    const detail = run.refreshStatus?.detail;
    return `instance refresh ${detail?.InstanceRefreshId ?? run.refresh?.refreshId} ended ${detail?.Status}: ${detail?.StatusReason || 'no reason given'}`;
  }
  if (error === 'ImageTimeout') return `image ${run.imageStatus?.detail?.ImageId ?? run.image?.imageId} was not available within the stage's imageTimeout`;
  if (error === 'RefreshTimeout') return `instance refresh ${run.refresh?.refreshId} did not end within the stage's refresh timeout`;
  if (run.error) return describeStepError(run.error.Error, run.error.Cause);
  return 'the run ended without publishing an image';
}

function summary(run: Run): string {
  const published = run.published!;
  const parts = [`image ${published.imageId} published as launch template version ${published.launchTemplateVersion}`];
  const copies = Object.entries(published.regionCopies);
  if (copies.length) parts.push(`copies started: ${copies.map(([region, id]) => `${region} ${id}`).join(', ')}`);
  if (published.deletedVersions) parts.push(`deleted ${published.deletedVersions} old launch template version(s)`);
  if (published.versionsProblem) parts.push(`old launch template versions not deleted: ${published.versionsProblem}`);
  if (run.refresh) parts.push(`instance refresh ${run.refresh.refreshId} succeeded`);
  if (run.pruned) {
    const { deregistered, kept, problems } = run.pruned;
    parts.push(`pruned ${deregistered.length} image(s)${deregistered.length ? ` (${deregistered.join(', ')})` : ''}`);
    if (kept.length) parts.push(`kept in use: ${kept.join(', ')}`);
    if (problems.length) parts.push(`pruning problems: ${problems.join('; ')}`);
  }
  if (run.pruneError) parts.push(`pruning failed: ${describeStepError(run.pruneError.Error, run.pruneError.Cause)}`);
  return parts.join('; ');
}

/** Removes the run's parked task tokens from the table (they are never used again). */
async function forgetWaits(run: Run): Promise<void> {
  const keys = [run.image && `image#${run.image.imageId}`, run.published && `image#${run.published.imageId}`, run.refresh && `refresh#${run.refresh.refreshId}`];
  for (const pk of new Set(keys.filter((k): k is string => Boolean(k)))) {
    try {
      await dynamodb().send(new DeleteItemCommand({ TableName: tableName(), Key: { pk: { S: pk } } }));
    } catch (err) {
      logger.warn('a parked token could not be removed', { pk, error: reasonOf(err) });
    }
  }
}
