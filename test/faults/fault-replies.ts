import { ScriptedReply } from '../emulator/aws-protocol';
import { Emulator } from '../emulator/harness';

/* The faults every scenario file injects, and a CodePipeline that takes one result per job. */

export const throttled: ScriptedReply = { error: { code: 'ThrottlingException', message: 'Rate exceeded' } };
export const serverError: ScriptedReply = { status: 500, error: { code: 'InternalServiceError', message: 'try again', status: 500 } };
export const hang: ScriptedReply = { fault: 'hang' };
export const drop: ScriptedReply = { fault: 'drop' };
export const appliedThenDrop: ScriptedReply = { fault: 'applied-then-drop' };

/**
 * CodePipeline's job results: the first result of a job is taken (unless a fault is scripted for
 * that call), later ones are answered InvalidJobStateException. A continuation token renews the job.
 */
export function fakeCodePipeline(emulator: () => Emulator, faults: Array<ScriptedReply | undefined> = []) {
  const taken: Array<{ operation: string; jobId: string; input: any }> = [];
  let call = 0;
  const answer = (operation: string) => (input: any): ScriptedReply => {
    const fault = faults[call++];
    if (taken.some(t => t.jobId === input.jobId)) return { error: { code: 'InvalidJobStateException', message: 'Job is not in progress' } };
    if (fault && fault.fault !== 'applied-then-drop') return fault;
    taken.push({ operation, jobId: input.jobId, input });
    return fault ? { fault: 'applied-then-drop', body: {} } : { body: {} };
  };
  emulator().script('codepipeline', 'PutJobSuccessResult', answer('PutJobSuccessResult'));
  emulator().script('codepipeline', 'PutJobFailureResult', answer('PutJobFailureResult'));
  return { taken, results: () => taken.filter(t => !t.input.continuationToken) };
}
