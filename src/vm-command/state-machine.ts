import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';

/**
 * The first line of every shell and PowerShell script a stage sends (a comment in both), followed
 * by the run id: the stages' command rule matches only commands that start with it.
 */
export const COMMAND_MARKER = '# cdk-pipeline-stages run ';

/** Static values the steps receive, written into the definition. */
export interface RunSettings {
  /** The stage's targets; a parameters file may replace them per run. */
  readonly targets: { [key: string]: unknown };
  readonly sendConfig: { [key: string]: unknown };
  readonly statusConfig: { [key: string]: unknown };
  readonly backstopInterval: Duration;
}

/**
 * PreFlight → SendCommand → WaitForCompletion ⇄ CheckStatus → Finish.
 * WaitForCompletion is a task-token wait resumed by SSM's status-change event; its timeout is the
 * polling backstop. Any error goes to Finish, which cancels the command and reports the failure.
 */
export function runDefinition(scope: Construct, runFunction: lambda.IFunction, settings: RunSettings): sfn.IChainable {
  const finish = new tasks.LambdaInvoke(scope, 'Finish', {
    lambdaFunction: runFunction,
    payload: sfn.TaskInput.fromObject({ step: 'finish', run: sfn.JsonPath.entirePayload }),
    payloadResponseOnly: true,
  });
  // The result counts only once CodePipeline took it: any failure to report is retried (and, past
  // these, the execution's FAILED event reports it from the event function).
  finish.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(2), maxAttempts: 5, backoffRate: 2 });

  const toFinish = (task: sfn.TaskStateBase) => task.addCatch(finish, { errors: ['States.ALL'], resultPath: '$.error' });

  const preflight = new tasks.LambdaInvoke(scope, 'PreFlight', {
    lambdaFunction: runFunction,
    payload: sfn.TaskInput.fromObject({ step: 'preflight', targets: settings.targets, fileTargets: sfn.JsonPath.objectAt('$.fileTargets') }),
    resultSelector: { instanceIds: sfn.JsonPath.listAt('$.Payload.instanceIds'), targets: sfn.JsonPath.objectAt('$.Payload.targets') },
    resultPath: '$.resolved',
  });

  const send = new tasks.LambdaInvoke(scope, 'SendCommand', {
    lambdaFunction: runFunction,
    payload: sfn.TaskInput.fromObject({
      step: 'send',
      runId: sfn.JsonPath.stringAt('$.runId'),
      retryCount: sfn.JsonPath.numberAt('$$.State.RetryCount'),
      instanceIds: sfn.JsonPath.listAt('$.resolved.instanceIds'),
      targets: sfn.JsonPath.objectAt('$.resolved.targets'),
      parameters: sfn.JsonPath.objectAt('$.parameters'),
      config: settings.sendConfig,
    }),
    resultSelector: { commandId: sfn.JsonPath.stringAt('$.Payload.commandId') },
    resultPath: '$.command',
  });
  // A retry looks for the command the run may have sent before sending one (at most one per run).
  send.addRetry({ errors: ['ThrottlingException', 'TooManyUpdates', 'SendCommandUncertain'], interval: Duration.seconds(1), maxAttempts: 6, backoffRate: 2 });
  // A record refused three times is refused for good: Finish finds the command by its comment and cancels it.
  send.addRetry({ errors: ['CommandNotRecorded'], interval: Duration.seconds(1), maxAttempts: 3, backoffRate: 2 });

  const wait = new tasks.LambdaInvoke(scope, 'WaitForCompletion', {
    lambdaFunction: runFunction,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({
      step: 'wait',
      taskToken: sfn.JsonPath.taskToken,
      commandId: sfn.JsonPath.stringAt('$.command.commandId'),
    }),
    taskTimeout: sfn.Timeout.duration(settings.backstopInterval),
    resultPath: sfn.JsonPath.DISCARD,
  });

  const status = new tasks.LambdaInvoke(scope, 'CheckStatus', {
    lambdaFunction: runFunction,
    payload: sfn.TaskInput.fromObject({
      step: 'status',
      runId: sfn.JsonPath.stringAt('$.runId'),
      commandId: sfn.JsonPath.stringAt('$.command.commandId'),
      instanceIds: sfn.JsonPath.listAt('$.resolved.instanceIds'),
      config: settings.statusConfig,
    }),
    payloadResponseOnly: true,
    resultPath: '$.status',
  });
  // Throttling, and a job renewal that got no answer (it is sent again).
  status.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(2), maxAttempts: 5, backoffRate: 2 });

  // The backstop: no event within the interval, so look for ourselves.
  wait.addCatch(status, { errors: ['States.Timeout'], resultPath: sfn.JsonPath.DISCARD });
  [preflight, send, wait, status].forEach(toFinish);

  const done = new sfn.Choice(scope, 'IsFinished')
    .when(sfn.Condition.booleanEquals('$.status.done', true), finish)
    .otherwise(wait);

  return preflight.next(send).next(wait).next(status).next(done);
}
