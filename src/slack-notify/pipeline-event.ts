/** What a notification says about the pipeline; each Slack channel chooses the outcomes it receives. */
export enum SlackOutcome {
  /** The execution succeeded, or (pipeline action) the execution reached the notify action. */
  SUCCEEDED = 'SUCCEEDED',
  /** The execution or one of its actions failed. */
  FAILED = 'FAILED',
  /** The execution was stopped or superseded by a newer one. */
  CANCELLED = 'CANCELLED',
  /** A manual approval is waiting for someone. */
  APPROVAL = 'APPROVAL',
}

const EXECUTION_CHANGE = 'CodePipeline Pipeline Execution State Change';
const ACTION_CHANGE = 'CodePipeline Action Execution State Change';

/** A CodePipeline event (from EventBridge) that the notifier posts to Slack. */
export class PipelineEvent {
  /** The execution failed (whichever stage failed). */
  public static readonly EXECUTION_FAILED = new PipelineEvent('EXECUTION_FAILED', SlackOutcome.FAILED, EXECUTION_CHANGE, 'FAILED');
  /** Someone stopped the execution. */
  public static readonly EXECUTION_STOPPED = new PipelineEvent('EXECUTION_STOPPED', SlackOutcome.CANCELLED, EXECUTION_CHANGE, 'STOPPED');
  /** A newer execution superseded this one. */
  public static readonly EXECUTION_SUPERSEDED = new PipelineEvent('EXECUTION_SUPERSEDED', SlackOutcome.CANCELLED, EXECUTION_CHANGE, 'SUPERSEDED');
  /** The execution succeeded. */
  public static readonly EXECUTION_SUCCEEDED = new PipelineEvent('EXECUTION_SUCCEEDED', SlackOutcome.SUCCEEDED, EXECUTION_CHANGE, 'SUCCEEDED');
  /** An action failed (one message per failed action, also when a retry later succeeds). */
  public static readonly ACTION_FAILED = new PipelineEvent('ACTION_FAILED', SlackOutcome.FAILED, ACTION_CHANGE, 'FAILED');
  /** A manual approval action started and waits for someone to approve or reject it. */
  public static readonly APPROVAL_WAITING = new PipelineEvent('APPROVAL_WAITING', SlackOutcome.APPROVAL, ACTION_CHANGE, 'STARTED', 'Approval');

  private constructor(
    /** The event's name, e.g. `EXECUTION_FAILED`. */
    public readonly name: string,
    /** The outcome the event's notification has, which decides the channels it goes to. */
    public readonly outcome: SlackOutcome,
    /** @internal */
    public readonly _detailType: string,
    /** @internal */
    public readonly _state: string,
    /** @internal */
    public readonly _category?: string,
  ) {}
}
