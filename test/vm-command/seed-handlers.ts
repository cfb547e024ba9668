/*
 * Handlers of the seed design (seed-design.ts), loaded by the emulator as a test module: the plain
 * polling loop a VmCommandStage replaces. Every call goes to the emulator (AWS_ENDPOINT_URL).
 */
import { CodePipelineClient, PutJobFailureResultCommand, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';

interface SeedRun {
  readonly jobId: string;
  readonly instanceIds: string[];
  readonly commands: string[];
  readonly waitSeconds: number;
  readonly commandId?: string;
  readonly status?: 'InProgress' | 'Success' | 'Failed';
}

const ssm = new SSMClient({});
const codepipeline = new CodePipelineClient({});

export async function submit(run: SeedRun): Promise<SeedRun> {
  const sent = await ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: run.instanceIds, Parameters: { commands: run.commands } }));
  return { ...run, commandId: sent.Command!.CommandId!, status: 'InProgress' };
}

/** One poll: the command's status on every instance. */
export async function status(run: SeedRun): Promise<SeedRun> {
  const statuses = await Promise.all(run.instanceIds.map(async InstanceId =>
    (await ssm.send(new GetCommandInvocationCommand({ CommandId: run.commandId!, InstanceId }))).Status));
  const finished = statuses.every(s => s !== 'Pending' && s !== 'InProgress' && s !== 'Delayed');
  return { ...run, status: !finished ? 'InProgress' : statuses.every(s => s === 'Success') ? 'Success' : 'Failed' };
}

export async function report(run: SeedRun): Promise<void> {
  if (run.status === 'Success') {
    await codepipeline.send(new PutJobSuccessResultCommand({ jobId: run.jobId }));
  } else {
    await codepipeline.send(new PutJobFailureResultCommand({ jobId: run.jobId, failureDetails: { type: 'JobFailed', message: `command ${run.commandId} ${run.status}` } }));
  }
}
