import { z } from 'zod/v3';

/** How a run ended, as reported to CodePipeline. */
export const OutcomeSchema = z.object({
  succeeded: z.boolean(),
  /** Success summary or failure reason. */
  message: z.string(),
  outputVariables: z.record(z.string(), z.string()).optional(),
});

export type Outcome = z.infer<typeof OutcomeSchema>;
