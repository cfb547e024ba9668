import { Outcome } from './config';

/** A source revision of an execution, as CodePipeline reports it. */
export interface Revision {
  readonly artifact?: string;
  readonly revisionId?: string;
  readonly summary?: string;
  readonly url?: string;
  /** The CodeCommit repository the revision came from, when its source action is a CodeCommit one. */
  readonly codeCommitRepository?: string;
  /** The commit's author, read from the source provider. */
  readonly author?: string;
}

/** The action a failure or approval is about. */
export interface ActionDetail {
  readonly stage: string;
  readonly action: string;
  /** The error summary or the approval's instructions. */
  readonly summary?: string;
  /** Logs or external execution (failures) or the approval's review link. */
  readonly url?: string;
}

/** Everything a message says; optional fields are left out when CodePipeline could not tell. */
export interface Notification {
  readonly outcome: Outcome;
  /** The status as shown, e.g. FAILED, SUPERSEDED, APPROVAL NEEDED. */
  readonly status: string;
  readonly pipelineName: string;
  readonly executionId?: string;
  readonly account?: string;
  readonly region: string;
  readonly trigger?: string;
  readonly revisions: readonly Revision[];
  readonly startTime?: Date;
  /** The time the duration runs to: the event's time, or the notify action's start. */
  readonly endTime?: Date;
  readonly failure?: ActionDetail;
  readonly approval?: ActionDetail;
  readonly text?: string;
  /** What could not be read from CodePipeline, so the reader knows the message is partial. */
  readonly missing: readonly string[];
  /** Whether reading a commit's author from CodeCommit failed. */
  readonly authorsUnread?: boolean;
}
