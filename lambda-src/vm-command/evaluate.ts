import { Outcome } from '../core/outcome';
import { joinWithin } from '../core/payload';

/** What one target did, as GetCommandInvocation reports it. */
export interface InvocationResult {
  readonly instanceId: string;
  /** Success, Failed, Cancelled, TimedOut, ... or NotSent when SSM never created an invocation. */
  readonly status: string;
  /** The finer status: DeliveryTimedOut, Undeliverable, Terminated, ExecutionTimedOut, ... */
  readonly statusDetails?: string;
  readonly stdout?: string;
  readonly stderr?: string;
}

export interface EvaluationContext {
  readonly commandId: string;
  /** SSM MaxErrors: a count ("2") or a percentage of the targets ("10%"). */
  readonly maxErrors: string;
  readonly logGroupName: string;
  readonly region: string;
}

const TAIL_CHARS = 500;
const MAX_LISTED_FAILURES = 6;
/**
 * `Results` lists every target (`i-...=Success,...`) up to this size: within CodePipeline's output
 * variable limit with the other variables, and within the run's state budget (the status step's
 * outcome is part of it). A larger fleet's list ends with how many targets it leaves out.
 */
export const RESULTS_MAX_BYTES = 64 * 1024;

/** How many failed targets MaxErrors tolerates, for a number of targets. */
export function toleratedFailures(maxErrors: string, targets: number): number {
  const match = /^(\d+)(%?)$/.exec(maxErrors.trim());
  if (!match) return 0;
  const value = Number(match[1]);
  return match[2] ? Math.floor((targets * value) / 100) : value;
}

function tail(text: string | undefined): string | undefined {
  const trimmed = text?.trim();
  if (!trimmed) return undefined;
  return trimmed.length > TAIL_CHARS ? `...${trimmed.slice(-TAIL_CHARS)}` : trimmed;
}

/** A console link to the target's output streams in the command's log group. */
export function logsLink(context: EvaluationContext, instanceId: string): string {
  const encode = (s: string) => encodeURIComponent(s).replace(/%/g, '$25');
  const { region } = context;
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#logsV2:log-groups/log-group/`
    + `${encode(context.logGroupName)}/log-events$3FlogStreamNameFilter$3D${encode(`${context.commandId}/${instanceId}/`)}`;
}

function describeFailure(context: EvaluationContext, result: InvocationResult): string {
  const status = result.statusDetails && result.statusDetails !== result.status
    ? `${result.status} (${result.statusDetails})` : result.status;
  const parts = [`- ${result.instanceId}: ${status}`];
  const stderr = tail(result.stderr);
  const stdout = tail(result.stdout);
  if (stderr) parts.push(`  stderr (tail): ${stderr}`);
  if (stdout) parts.push(`  stdout (tail): ${stdout}`);
  parts.push(`  logs: ${logsLink(context, result.instanceId)}`);
  return parts.join('\n');
}

/** Decides a finished command: success when every target succeeded or failures stay within MaxErrors. */
export function evaluate(context: EvaluationContext, results: InvocationResult[]): Outcome {
  const failed = results.filter(r => r.status !== 'Success');
  const tolerated = toleratedFailures(context.maxErrors, results.length);
  const succeededCount = results.length - failed.length;
  const outputVariables = {
    CommandId: context.commandId,
    SucceededCount: String(succeededCount),
    FailedCount: String(failed.length),
    Results: joinWithin(results.map(r => `${r.instanceId}=${r.status}`), ',', RESULTS_MAX_BYTES,
      left => `...and ${left} more (see the command's invocations)`),
  };
  if (failed.length <= tolerated) {
    const toleratedNote = failed.length ? ` (${failed.length} failure(s) within max errors ${context.maxErrors})` : '';
    return {
      succeeded: true,
      message: `command ${context.commandId} succeeded on ${succeededCount} of ${results.length} instance(s)${toleratedNote}`,
      outputVariables,
    };
  }
  const listed = failed.slice(0, MAX_LISTED_FAILURES).map(r => describeFailure(context, r));
  if (failed.length > listed.length) listed.push(`- and ${failed.length - listed.length} more failed instance(s)`);
  return {
    succeeded: false,
    message: `command ${context.commandId} failed on ${failed.length} of ${results.length} instance(s) `
      + `(max errors ${context.maxErrors}):\n${listed.join('\n')}`,
  };
}
