/*
 * The AWS limits the stages could exceed, in one place. Each names the document it comes from;
 * the constructs validate their props against them at synth and the handlers bound what they send.
 * Imported by src/ and lambda-src/ alike (it has no dependencies).
 */

/**
 * Step Functions service quotas, "Quotas related to state machine executions": a Standard
 * execution fails once its history holds 25,000 events.
 */
export const SFN_MAX_HISTORY_EVENTS = 25_000;

/**
 * Step Functions service quotas, "Maximum input or output size for a task, state, or execution":
 * 256 KiB of UTF-8 data. `States.DataLimitExceeded` is not caught by `States.ALL`.
 */
export const SFN_MAX_PAYLOAD_BYTES = 256 * 1024;

/**
 * CodePipeline quotas ("Quotas in AWS CodePipeline"): a Lambda invoke action that sends no reply
 * within 20 minutes times out; an "in progress" reply (a continuation token) restarts the timer.
 */
export const PIPELINE_LAMBDA_REPLY_LIMIT_MS = 20 * 60 * 1000;

/** CodePipeline quotas: a Lambda invoke action runs for 24 hours at most. */
export const PIPELINE_LAMBDA_ACTION_MAX_MS = 24 * 60 * 60 * 1000;

/**
 * CodePipeline quotas, "Maximum size of output variables": all output variables of one action
 * together, at most 122,880 bytes (`OutputVariablesSizeExceededException`).
 */
export const PIPELINE_OUTPUT_VARIABLES_MAX_BYTES = 122_880;

/** CodePipeline API reference, `FailureDetails.message`: 1 to 5,000 characters. */
export const PIPELINE_FAILURE_MESSAGE_MAX_CHARS = 5_000;

/** EC2 user guide, launch template quotas: 10,000 versions per launch template. */
export const LAUNCH_TEMPLATE_MAX_VERSIONS = 10_000;

/** EC2 API reference, `DeleteLaunchTemplateVersions`: at most 200 versions per call. */
export const DELETE_LAUNCH_TEMPLATE_VERSIONS_PER_CALL = 200;
