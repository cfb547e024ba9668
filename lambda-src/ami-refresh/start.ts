import type { CodePipelineEvent } from 'aws-lambda';
import { z } from 'zod/v3';
import { InputError } from '../core/errors';
import { parseInput } from '../core/input';
import { renewalAgeMs } from '../core/job-report';
import { handleJobStart, JobParametersSchema } from '../core/job-start';
import { RETENTION_SECONDS } from '../core/job-table';

/*
 * The AMI stage's part of starting a run: the pipeline execution (which names the image), the commit,
 * and when the run's parked task tokens expire from the run table (the state machine writes them).
 */

const UserParametersSchema = JobParametersSchema.extend({
  commitId: z.string().max(200).default(''),
}).strict();

export const start = (event: CodePipelineEvent): Promise<void> => handleJobStart(event, async (_job, userParameters) => {
  const { pipelineExecutionId, commitId, renewAfterSeconds } = parseInput(UserParametersSchema, userParameters, 'action user parameters');
  if (!pipelineExecutionId) throw new InputError('the action user parameters carry no pipeline execution id');
  return {
    pipelineExecutionId,
    commitId,
    renewAt: new Date(Date.now() + renewalAgeMs({ renewAfterMs: renewAfterSeconds && renewAfterSeconds * 1000 })).toISOString(),
    expiresAt: String(Math.floor(Date.now() / 1000) + RETENTION_SECONDS),
  };
});
