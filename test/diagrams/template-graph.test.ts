import { describeChoice, describeTask, resolveDefinition, transitionsOf } from '../../scripts/diagrams/asl';
import { commonPrefixed, DiagramInput, referencesIn, templateToDot } from '../../scripts/diagrams/template-graph';

/** A construct `Jobs` with a rule feeding a queue that a function polls, a state machine invoking it, and a pipeline action. */
function jobsTemplate(): DiagramInput {
  const definition = {
    'Fn::Join': ['', [
      '{"StartAt":"Start","States":{"Start":{"Type":"Task","Resource":"arn:',
      { Ref: 'AWS::Partition' },
      ':states:::lambda:invoke","Parameters":{"FunctionName":"',
      { 'Fn::GetAtt': ['JobsWorker1A2B3C4D', 'Arn'] },
      '"},"Next":"Done?","Catch":[{"ErrorEquals":["States.ALL"],"Next":"Failed"}]},',
      '"Done?":{"Type":"Choice","Choices":[{"Variable":"$.status.done","BooleanEquals":true,"Next":"Succeeded"}],"Default":"Describe"},',
      '"Describe":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:ec2:describeImages","Parameters":{},"Next":"Done?"},',
      '"Failed":{"Type":"Fail"},"Succeeded":{"Type":"Succeed"}}}',
    ]],
  };
  return {
    title: 'Jobs',
    scopes: [{ path: 'Jobs', caption: 'one per construct' }],
    paths: {
      JobsRuleAAAA1111: 'Jobs/Rule',
      JobsQueueBBBB2222: 'Jobs/Queue',
      JobsWorker1A2B3C4D: 'Jobs/Worker',
      JobsWorkerServiceRoleCCCC3333: 'Jobs/Worker/ServiceRole',
      JobsWorkerPolicyDDDD4444: 'Jobs/Worker/ServiceRole/DefaultPolicy',
      JobsWorkerSourceEEEE5555: 'Jobs/Worker/SqsEventSource',
      JobsMachineFFFF6666: 'Jobs/Machine',
      Pipeline12345678: 'Pipeline',
    },
    template: {
      Resources: {
        JobsRuleAAAA1111: {
          Type: 'AWS::Events::Rule',
          Properties: {
            Description: 'Finished commands',
            EventPattern: { 'source': ['aws.ssm'], 'detail-type': ['EC2 Command Status-change Notification'], 'detail': { status: ['Success', 'Failed'] } },
            Targets: [{ Arn: { 'Fn::GetAtt': ['JobsQueueBBBB2222', 'Arn'] }, Id: 'Target0' }],
          },
        },
        JobsQueueBBBB2222: { Type: 'AWS::SQS::Queue', Properties: {} },
        JobsWorkerServiceRoleCCCC3333: { Type: 'AWS::IAM::Role', Properties: {} },
        JobsWorkerPolicyDDDD4444: {
          Type: 'AWS::IAM::Policy',
          Properties: {
            Roles: [{ Ref: 'JobsWorkerServiceRoleCCCC3333' }],
            PolicyDocument: {
              Statement: [
                { Effect: 'Allow', Action: ['ssm:SendCommand', 'ssm:CancelCommand'], Resource: '*' },
                { Effect: 'Allow', Action: 'logs:PutLogEvents', Resource: '*' },
                { Effect: 'Allow', Action: 'states:SendTaskSuccess', Resource: { Ref: 'JobsMachineFFFF6666' } },
              ],
            },
          },
        },
        JobsWorker1A2B3C4D: {
          Type: 'AWS::Lambda::Function',
          Properties: { MemorySize: 256, Timeout: 30, Role: { 'Fn::GetAtt': ['JobsWorkerServiceRoleCCCC3333', 'Arn'] } },
        },
        JobsWorkerSourceEEEE5555: {
          Type: 'AWS::Lambda::EventSourceMapping',
          Properties: { EventSourceArn: { 'Fn::GetAtt': ['JobsQueueBBBB2222', 'Arn'] }, FunctionName: { Ref: 'JobsWorker1A2B3C4D' }, BatchSize: 10 },
        },
        JobsMachineFFFF6666: { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: definition } },
        Pipeline12345678: {
          Type: 'AWS::CodePipeline::Pipeline',
          Properties: {
            Stages: [{
              Name: 'Run',
              Actions: [{ Name: 'Run', ActionTypeId: { Category: 'Invoke', Provider: 'Lambda' }, Configuration: { FunctionName: { Ref: 'JobsWorker1A2B3C4D' } } }],
            }],
          },
        },
      },
    },
  };
}

describe('a template drawn as a diagram', () => {
  const dot = templateToDot(jobsTemplate());
  const edge = (from: string, to: string) => dot.split('\n').find(l => l.trim().startsWith(`${from} -> ${to} [`));

  test('a rule targeting a queue is an event edge from the rule to the queue, and the event source leads to the rule', () => {
    expect(edge('Jobs_Rule', 'Jobs_Queue')).toContain('label="target"');
    expect(edge('service_ssm', 'Jobs_Rule')).toContain('EC2 Command Status-change Notification\\nstatus: Success, Failed');
  });

  test('an event source mapping is an edge from the queue to the function it feeds', () => {
    expect(edge('Jobs_Queue', 'Jobs_Worker')).toContain('polls, batches of 10');
  });

  test('the function\'s role and policy are folded into its node, and its statements name what it calls (not its logs)', () => {
    expect(dot).toContain('λ Worker\\nLambda function, 256 MB, 30 s\\n+ role, policy');
    expect(dot).not.toMatch(/ServiceRole|DefaultPolicy|PutLogEvents/);
    expect(edge('Jobs_Worker', 'service_ssm')).toContain('label="CancelCommand, SendCommand"');
    expect(edge('Jobs_Worker', 'Jobs_Machine__machine')).toContain('label="SendTaskSuccess"');
  });

  test('the pipeline action that runs the function is an edge from the pipeline, and the pipeline is drawn first', () => {
    expect(edge('Pipeline', 'Jobs_Worker')).toContain('action Run\\n(Lambda invoke)');
    expect(dot).toContain('{ rank=min; Pipeline; legend; }');
  });

  test('the state machine\'s states and transitions are a cluster, its tasks lead to what they call', () => {
    expect(dot).toContain('subgraph "cluster_Jobs_Machine__machine"');
    for (const state of ['Start', 'Done_', 'Describe', 'Failed', 'Succeeded']) expect(dot).toContain(`Jobs_Machine__machine__${state} [`);
    expect(edge('Jobs_Machine__machine', 'Jobs_Machine__machine__Start')).toContain('label="start"');
    expect(edge('Jobs_Machine__machine__Start', 'Jobs_Machine__machine__Done_')).toBeDefined();
    expect(edge('Jobs_Machine__machine__Done_', 'Jobs_Machine__machine__Succeeded')).toContain('label="done = true"');
    expect(edge('Jobs_Machine__machine__Done_', 'Jobs_Machine__machine__Describe')).toContain('label="otherwise"');
    expect(edge('Jobs_Machine__machine__Start', 'Jobs_Machine__machine__Failed')).toContain('style=dashed');
    expect(edge('Jobs_Machine__machine', 'Jobs_Worker')).toContain('lambda:invoke: Start');
    expect(edge('Jobs_Machine__machine', 'service_ec2')).toContain('ec2:describeImages: Describe');
  });

  test('a loop back to an earlier state does not shape the layout; the forward steps do', () => {
    expect(edge('Jobs_Machine__machine__Describe', 'Jobs_Machine__machine__Done_')).toContain('constraint=false');
    expect(edge('Jobs_Machine__machine__Start', 'Jobs_Machine__machine__Done_')).not.toContain('constraint=false');
  });

  test('labels hold no logical id hashes, and the same template gives the same text', () => {
    expect(dot).not.toMatch(/[A-F0-9]{8}/);
    expect(templateToDot(jobsTemplate())).toBe(dot);
  });
});

describe('the parts', () => {
  test('references are found in Ref, Fn::GetAtt, Fn::Join and ${} placeholders, without pseudo parameters', () => {
    expect(referencesIn({ 'Fn::Join': ['', [{ Ref: 'AWS::Partition' }, { 'Fn::GetAtt': ['B', 'Arn'] }, '${C.Arn}', { Ref: 'A' }]] })).toEqual(['A', 'B', 'C']);
  });

  test('a definition with references resolves to placeholders', () => {
    const machine = resolveDefinition({ 'Fn::Join': ['', ['{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"', { 'Fn::GetAtt': ['Fn', 'Arn'] }, '","End":true}}}']] });
    expect(machine.States.A.Resource).toBe('${Fn.Arn}');
    expect(describeTask(machine.States.A)).toEqual({ service: 'lambda', action: 'lambda:invoke', references: ['Fn'] });
  });

  test('an optimized integration names its service and pattern', () => {
    expect(describeTask({ Type: 'Task', Resource: 'arn:${AWS::Partition}:states:::dynamodb:putItem.waitForTaskToken', Parameters: { TableName: '${Table}' } }))
      .toEqual({ service: 'dynamodb', action: 'dynamodb:putItem.waitForTaskToken', references: ['Table'] });
  });

  test('transitions: next, choices, default and catches (named by their errors)', () => {
    expect(transitionsOf({ Type: 'Task', Next: 'B', Catch: [{ ErrorEquals: ['States.Timeout'], Next: 'C' }] }))
      .toEqual([{ kind: 'next', next: 'B' }, { kind: 'catch', next: 'C', label: 'timeout' }]);
  });

  test('choice rules read in a few words', () => {
    expect(describeChoice({ Or: ['failed', 'invalid'].map(v => ({ Variable: '$.image.State', StringEquals: v })), Next: 'X' })).toBe('State = failed | invalid');
    expect(describeChoice({ Variable: '$.now', TimestampGreaterThanEqualsPath: '$.image.deadline', Next: 'X' })).toBe('now >= deadline');
  });

  test('detail types with the same first words are listed once', () => {
    expect(commonPrefixed(['Instance Refresh Succeeded', 'Instance Refresh Failed'])).toBe('Instance Refresh: Succeeded, Failed');
    expect(commonPrefixed(['A', 'B'])).toBe('A, B');
  });
});
