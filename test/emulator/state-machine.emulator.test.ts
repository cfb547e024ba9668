import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { EmulatorTestStack } from './fixtures/test-stack';
import { ExecutionResult, describeWithEmulator } from './harness';

const HANDLERS = 'test/emulator/fixtures/handlers.ts';
const stack = new EmulatorTestStack();
const template = stack.template();
const loopId = stack.logicalId(stack.loop);
const callbackId = stack.logicalId(stack.callback);
const lateAnswerId = stack.logicalId(stack.lateAnswer);

/** The names of the states entered, in order. */
function statesEntered(result: ExecutionResult): string[] {
  return result.history.flatMap(e => (e.stateEnteredEventDetails ? [e.stateEnteredEventDetails.name!] : []));
}

describeWithEmulator('the emulator runs synthesized state machines', emulator => {
  const loopHandlers = { Work: `${HANDLERS}#work` };

  async function putParameter(name: string, value: string) {
    await emulator().client(SSMClient).send(new PutParameterCommand({ Name: name, Value: value, Type: 'String' }));
  }

  test('a Lambda task in a Wait/Choice loop runs until done, then an aws-sdk task reads a parameter from moto', async () => {
    await putParameter('/emulator/greeting', 'parameter value');

    const result = await emulator().runStateMachine(template, loopId, {
      input: { target: 3, waitSeconds: 0, parameterName: '/emulator/greeting' },
      handlers: loopHandlers,
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(statesEntered(result)).toEqual(['Round', 'Done?', 'Pause', 'Round', 'Done?', 'Pause', 'Round', 'Done?', 'ReadParameter']);
    expect(result.output).toMatchObject({ count: 3, done: true, parameter: { value: 'parameter value' } });
    // The function's environment from the template reached the handler.
    expect(result.output.greeting).toBe('hello from the template');
    expect(result.calls.map(c => `${c.service}:${c.operation}`)).toEqual(['lambda:Invoke', 'lambda:Invoke', 'lambda:Invoke', 'ssm:GetParameter']);
    expect(result.calls[1].input.Payload).toMatchObject({ count: 1, done: false });
    expect(result.calls[3].input).toEqual({ Name: '/emulator/greeting' });
  });

  test('the Wait state waits for the seconds the input gives', async () => {
    await putParameter('/emulator/greeting', 'x');
    const started = Date.now();
    const result = await emulator().runStateMachine(template, loopId, {
      input: { target: 2, waitSeconds: 1, parameterName: '/emulator/greeting' },
      handlers: loopHandlers,
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  test('an error thrown by a handler fails the execution with its name and message', async () => {
    const result = await emulator().runStateMachine(template, loopId, {
      input: { target: 5, failAt: 2, waitSeconds: 0, parameterName: '/emulator/unused' },
      handlers: loopHandlers,
    });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('WorkFailedError');
    expect(JSON.parse(result.cause!)).toMatchObject({ errorType: 'WorkFailedError', errorMessage: 'round 2 failed on purpose' });
    expect(result.calls.filter(c => c.operation === 'Invoke')).toHaveLength(2);
    expect(result.calls.some(c => c.service === 'ssm')).toBe(false);
  });

  test('an aws-sdk task fails with moto\'s error when the parameter is missing (lower-case service prefix, as moto names it)', async () => {
    const result = await emulator().runStateMachine(template, loopId, {
      input: { target: 1, waitSeconds: 0, parameterName: '/emulator/missing' },
      handlers: loopHandlers,
    });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('ssm.ParameterNotFoundException');
    expect(result.cause).toContain('/emulator/missing');
  });

  test('a .waitForTaskToken task waits until the test sends the task success', async () => {
    const { executionArn } = await emulator().startExecution(template, callbackId, {
      input: { request: 'approve deployment' },
      handlers: { AcceptToken: `${HANDLERS}#acceptToken` },
    });
    const invocation = await emulator().waitForCall('lambda', 'Invoke');
    expect(invocation.input.Payload).toEqual({ token: expect.any(String), request: 'approve deployment' });

    await emulator().client(SFNClient).send(new SendTaskSuccessCommand({
      taskToken: invocation.input.Payload.token,
      output: JSON.stringify({ approvedBy: 'test' }),
    }));
    const result = await emulator().waitForExecution(executionArn);

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual({ request: 'approve deployment', callback: { approvedBy: 'test' } });
    expect(result.calls.map(c => `${c.service}:${c.operation}`)).toEqual(['lambda:Invoke', 'states:SendTaskSuccess']);
  });

  test('a .waitForTaskToken task fails with the error the test sends', async () => {
    const { executionArn } = await emulator().startExecution(template, callbackId, {
      input: { request: 'approve deployment' },
      handlers: { AcceptToken: `${HANDLERS}#acceptToken` },
    });
    const invocation = await emulator().waitForCall('lambda', 'Invoke');
    await emulator().client(SFNClient).send(new SendTaskFailureCommand({
      taskToken: invocation.input.Payload.token, error: 'Rejected', cause: 'rejected by the test',
    }));
    const result = await emulator().waitForExecution(executionArn);

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('Rejected');
    expect(result.cause).toBe('rejected by the test');
  });

  test('a task that times out is caught by its Catch', async () => {
    const result = await emulator().runStateMachine(template, callbackId, {
      input: { request: 'nobody answers' },
      handlers: { AcceptToken: `${HANDLERS}#acceptToken` },
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual({ outcome: 'timed out', error: 'States.Timeout' });
    expect(result.history.map(e => e.type)).toContain('TaskTimedOut');
    expect(statesEntered(result)).toEqual(['AwaitCallback', 'TimedOut']);
  });

  // Step Functions API reference, SendTaskSuccess errors: TaskTimedOut, "the task token has either
  // expired or the task associated with the token has already been closed". moto 5.2.1 accepts such
  // a token; the launcher refuses it (test/emulator/moto-launcher.py).
  test('the token of a task that timed out is refused with TaskTimedOut while the execution goes on, and adds no event', async () => {
    const { executionArn } = await emulator().startExecution(template, lateAnswerId, { input: {}, handlers: { AcceptToken: `${HANDLERS}#acceptToken` } });
    // The second task is invoked once the first one has timed out and its Catch has run.
    const [tooLate, inTime] = await emulator().waitForCalls('lambda', 'Invoke', () => true, 2);
    const sfnClient = emulator().client(SFNClient);
    await expect(sfnClient.send(new SendTaskSuccessCommand({ taskToken: tooLate.input.Payload.token, output: '{"answer":"too late"}' })))
      .rejects.toMatchObject({ name: 'TaskTimedOut' });
    await sfnClient.send(new SendTaskSuccessCommand({ taskToken: inTime.input.Payload.token, output: '{"answer":"in time"}' }));
    const result = await emulator().waitForExecution(executionArn);

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output.callback).toEqual({ answer: 'in time' });
    expect(result.history.filter(e => e.type === 'TaskSucceeded')).toHaveLength(1);
    expect(statesEntered(result)).toEqual(['AnswerTooLate', 'AnswerInTime']);
  });

  test('several executions of one state machine run, also in parallel (moto 5.2.1 allowed one per region)', async () => {
    await putParameter('/emulator/greeting', 'x');
    const run = (target: number) => emulator().runStateMachine(template, loopId, {
      input: { target, waitSeconds: 0, parameterName: '/emulator/greeting' },
      handlers: loopHandlers,
    });
    const first = await run(1);
    const parallel = await Promise.all([run(2), run(3), run(4)]);

    expect([first, ...parallel].map(r => [r.status, r.output?.count])).toEqual([
      ['SUCCEEDED', 1], ['SUCCEEDED', 2], ['SUCCEEDED', 3], ['SUCCEEDED', 4],
    ]);
  });

  test('handlers stay warm between invocations until reset() makes the next one a cold start and removes their environment', async () => {
    await putParameter('/emulator/greeting', 'x');
    const input = { target: 2, waitSeconds: 0, parameterName: '/emulator/greeting' };
    const warm = await emulator().runStateMachine(template, loopId, { input, handlers: loopHandlers });
    expect(warm.output.warmInvocations).toBe(2);
    expect(process.env.GREETING).toBe('hello from the template');

    await emulator().reset();
    expect(process.env.GREETING).toBeUndefined();
    await putParameter('/emulator/greeting', 'x');
    const cold = await emulator().runStateMachine(template, loopId, { input: { ...input, target: 1 }, handlers: loopHandlers });
    expect(cold.output.warmInvocations).toBe(1);
    expect(emulator().calls('lambda', 'Invoke')).toHaveLength(1);
  });

  test('a Lambda function the state machine invokes must have a handler', async () => {
    await expect(emulator().runStateMachine(template, loopId, { input: {}, handlers: {} }))
      .rejects.toThrow(/the state machine invokes Work[0-9A-F]{8}, but `handlers` maps no handler to it/);
    await expect(emulator().runStateMachine(template, loopId, { input: {}, handlers: { Nope: `${HANDLERS}#work` } }))
      .rejects.toThrow(/handlers key 'Nope' must name exactly one Lambda function of the template, got 0; functions: Work[0-9A-F]{8}, AcceptToken/);
  });
});
