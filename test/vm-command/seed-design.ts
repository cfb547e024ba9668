import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';

/*
 * The seed design a VmCommandStage is measured against: a pipeline action starts a state machine
 * that sends the command (Submit), waits (Wait, 10 s in the design; `$.waitSeconds`), reads its
 * status on every instance (Status) and loops until it is final (Choice), then reports the job
 * (Report). The emulator runs seed-handlers.ts in place of the functions' code.
 */
export function seedDesign() {
  const stack = new Stack();
  const fn = (id: string) => new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => { throw new Error("run by the emulator"); };'),
  });
  const step = (id: string) => new tasks.LambdaInvoke(stack, id, { lambdaFunction: fn(`${id}Function`), payloadResponseOnly: true });
  const status = step('Status');
  const wait = new sfn.Wait(stack, 'Wait', { time: sfn.WaitTime.secondsPath('$.waitSeconds') });
  const machine = new sfn.StateMachine(stack, 'SeedDesign', {
    definitionBody: sfn.DefinitionBody.fromChainable(step('Submit').next(wait).next(status).next(
      new sfn.Choice(stack, 'Finished?')
        .when(sfn.Condition.stringEquals('$.status', 'InProgress'), wait)
        .otherwise(step('Report')))),
  });
  return {
    template: Template.fromStack(stack),
    stateMachineId: stack.getLogicalId(machine.node.defaultChild as sfn.CfnStateMachine),
    handlers: Object.fromEntries(['submit', 'status', 'report'].map(h => [`${h[0].toUpperCase()}${h.slice(1)}Function`, `test/vm-command/seed-handlers.ts#${h}`])),
  };
}
