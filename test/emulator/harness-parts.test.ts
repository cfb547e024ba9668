import * as http from 'http';
import { AddressInfo } from 'net';
import { PassThrough } from 'stream';
import { encodeReply, identifyCall, lambdaFunctionName } from './aws-protocol';
import { LambdaRuntime } from './lambda-runtime';
import { AwsProxy } from './proxy';
import { TemplateResolver } from './template-resolver';

// The harness's parts that need no moto.

describe('identifyCall', () => {
  const auth = (service: string) => ({ authorization: `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=x` });

  test('JSON protocol: operation from X-Amz-Target, input from the body', () => {
    const call = identifyCall('POST', '/', { ...auth('ssm'), 'x-amz-target': 'AmazonSSM.GetCommandInvocation' }, Buffer.from('{"CommandId":"c"}'));
    expect(call).toEqual({ service: 'ssm', operation: 'GetCommandInvocation', input: { CommandId: 'c' }, protocol: 'json' });
  });

  test('query protocol: operation from the form Action, input from the other fields', () => {
    const body = Buffer.from('Action=StartInstanceRefresh&Version=2011-01-01&AutoScalingGroupName=web');
    const call = identifyCall('POST', '/', { ...auth('autoscaling'), 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body);
    expect(call).toEqual({ service: 'autoscaling', operation: 'StartInstanceRefresh', input: { AutoScalingGroupName: 'web' }, protocol: 'query' });
    expect(identifyCall('GET', '/?Action=DescribeInstances&InstanceId.1=i-1', auth('ec2'), Buffer.alloc(0)))
      .toEqual({ service: 'ec2', operation: 'DescribeInstances', input: { 'InstanceId.1': 'i-1' }, protocol: 'ec2' });
  });

  test('Lambda invocations by name, ARN or qualified ARN', () => {
    expect(lambdaFunctionName('/2015-03-31/functions/Work/invocations')).toBe('Work');
    expect(lambdaFunctionName(`/2015-03-31/functions/${encodeURIComponent('arn:aws:lambda:us-east-1:123456789012:function:Work:live')}/invocations`)).toBe('Work');
    expect(lambdaFunctionName('/2015-03-31/functions/Work')).toBeUndefined();
    const call = identifyCall('POST', '/2015-03-31/functions/Work/invocations', { ...auth('lambda'), 'x-amz-invocation-type': 'Event' }, Buffer.from('{"a":1}'));
    expect(call).toEqual({ service: 'lambda', operation: 'Invoke', input: { FunctionName: 'Work', InvocationType: 'Event', Payload: { a: 1 } }, protocol: 'rest' });
  });

  test('other REST calls are named by method and path', () => {
    expect(identifyCall('GET', '/bucket/key?x=1', auth('s3'), Buffer.alloc(0)).operation).toBe('GET /bucket/key');
  });
});

describe('encodeReply', () => {
  const json = { service: 'codebuild', operation: 'StartBuild', input: {}, protocol: 'json' as const };
  const query = { service: 'autoscaling', operation: 'StartInstanceRefresh', input: {}, protocol: 'query' as const };
  const ec2 = { service: 'ec2', operation: 'DescribeInstances', input: {}, protocol: 'ec2' as const };

  test('every reply carries a request id', () => {
    for (const call of [json, query, ec2]) {
      expect(encodeReply(call, {}).headers['x-amzn-RequestId']).toMatch(/^[0-9a-f-]{36}$/);
      expect(encodeReply(call, { error: { code: 'X', message: 'y' } }).headers['x-amzn-RequestId']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  test('JSON errors carry __type and x-amzn-ErrorType, status 400 unless given', () => {
    const reply = encodeReply(json, { error: { code: 'ThrottlingException', message: 'slow down' } });
    expect(reply.status).toBe(400);
    expect(reply.headers['x-amzn-ErrorType']).toBe('ThrottlingException');
    expect(JSON.parse(reply.body)).toEqual({ __type: 'ThrottlingException', message: 'slow down' });
    expect(encodeReply(json, { error: { code: 'InternalFailure', message: 'm', status: 500 } }).status).toBe(500);
  });

  test('query and EC2 bodies and errors are XML, lists as member and item', () => {
    expect(encodeReply(query, { body: { Ids: ['a', 'b'] } }).body)
      .toMatch(/^<StartInstanceRefreshResponse><StartInstanceRefreshResult><Ids><member>a<\/member><member>b<\/member><\/Ids><\/StartInstanceRefreshResult>/);
    expect(encodeReply(ec2, { body: { set: [{ id: 'x&y' }] } }).body).toMatch(/<set><item><id>x&#38;y<\/id><\/item><\/set><\/DescribeInstancesResponse>$/);
    expect(encodeReply(query, { error: { code: 'Busy', message: 'm' } }).body).toMatch(/^<ErrorResponse><Error><Type>Sender<\/Type><Code>Busy<\/Code><Message>m<\/Message>/);
    expect(encodeReply(ec2, { error: { code: 'Denied', message: 'm' } }).body).toMatch(/^<Response><Errors><Error><Code>Denied<\/Code>/);
    expect(encodeReply(ec2, { body: '<raw/>' }).body).toBe('<raw/>');
  });
});

describe('TemplateResolver', () => {
  const template = {
    Parameters: { Stage: { Type: 'String', Default: 'prod' } },
    Resources: {
      Fn: { Type: 'AWS::Lambda::Function', Properties: { Timeout: 5, Environment: { Variables: { QUEUE: { Ref: 'Queue' }, TOPIC: { Ref: 'Topic' } } } } },
      Named: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'my-fn' } },
      Queue: { Type: 'AWS::SQS::Queue' },
      Topic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'alerts' } },
      Role: { Type: 'AWS::IAM::Role' },
      Machine: {
        Type: 'AWS::StepFunctions::StateMachine',
        Properties: {
          RoleArn: { 'Fn::GetAtt': ['Role', 'Arn'] },
          DefinitionString: {
            'Fn::Join': ['', ['{"A":"', { 'Fn::GetAtt': ['Fn', 'Arn'] }, '","B":"', { 'Fn::GetAtt': 'Queue.Arn' },
              '","C":"', { 'Fn::Sub': '${AWS::Partition}:${Stage}:${Named}:${!Literal}' }, '","D":"${sub}"}']],
          },
          DefinitionSubstitutions: { sub: { 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b'] }] } },
        },
      },
    },
  };
  const resolver = new TemplateResolver(template, 'us-east-1');

  test('resolves the definition: Join, GetAtt, Sub, parameters and DefinitionSubstitutions', () => {
    expect(JSON.parse(resolver.stateMachine('Machine').definition)).toEqual({
      A: 'arn:aws:lambda:us-east-1:123456789012:function:Fn',
      B: 'arn:aws:sqs:us-east-1:123456789012:Queue',
      C: 'aws:prod:my-fn:${Literal}',
      D: 'b',
    });
  });

  test('lists the functions with their resolved environment', () => {
    expect(resolver.functions()).toEqual([
      { logicalId: 'Fn', functionName: 'Fn', timeoutSeconds: 5, environment: { QUEUE: 'https://sqs.us-east-1.amazonaws.com/123456789012/Queue', TOPIC: 'arn:aws:sns:us-east-1:123456789012:alerts' } },
      { logicalId: 'Named', functionName: 'my-fn', timeoutSeconds: undefined, environment: {} },
    ]);
  });

  test('names what it cannot resolve', () => {
    expect(() => resolver.stateMachine('Fn')).toThrow('Fn is not a state machine of the template; state machines: Machine');
    expect(() => resolver.resolve({ Ref: 'Nope' })).toThrow('Ref to Nope, which is neither a resource nor a parameter of the template');
    expect(() => resolver.resolve({ 'Fn::If': ['C', 1, 2] })).toThrow('Fn::If is not supported');
  });
});

describe('LambdaRuntime', () => {
  const runtime = new LambdaRuntime(new PassThrough());
  const fixture = (name: string) => `test/emulator/fixtures/slow-handlers.ts#${name}`;

  test('a handler slower than its timeout fails with Sandbox.Timedout', async () => {
    const outcome = await runtime.invoke({ functionName: 'Slow', handler: fixture('slow'), timeoutSeconds: 0.2 }, {});
    expect(outcome).toMatchObject({ ok: false, errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 0.20 seconds' });
  });

  test('results travel as JSON, and a thrown non-Error becomes an Error', async () => {
    expect(await runtime.invoke({ functionName: 'D', handler: fixture('returnsDate') }, {})).toEqual({ ok: true, result: { at: '1970-01-01T00:00:00.000Z' } });
    expect(await runtime.invoke({ functionName: 'S', handler: fixture('throwsString') }, {})).toMatchObject({ ok: false, errorType: 'Error', errorMessage: 'plain string' });
  });

  test('a missing module or export fails like the Lambda runtime does', async () => {
    expect(await runtime.invoke({ functionName: 'N', handler: fixture('notAFunction') }, {}))
      .toMatchObject({ ok: false, errorType: 'Runtime.HandlerNotFound' });
    expect(await runtime.invoke({ functionName: 'M', handler: 'assets/lambda-src/nope/handler' }, {}))
      .toMatchObject({ ok: false, errorType: 'Runtime.ImportModuleError', errorMessage: expect.stringContaining('run `npx projen bundle`') });
  });
});

describe('AwsProxy', () => {
  test('logs the time of each forwarded call, and marks a call whose caller gave up before moto answered', async () => {
    const held: http.ServerResponse[] = [];
    const received: string[] = [];
    const fakeMoto = http.createServer((req, res) => {
      received.push(req.headers['x-amz-target'] as string);
      if (req.headers['x-amz-target'] === 'AmazonSSM.SendCommand') held.push(res);
      else res.end('{}');
    });
    await new Promise<void>(resolve => fakeMoto.listen(0, '127.0.0.1', resolve));
    let log = '';
    const logStream = new PassThrough().on('data', chunk => { log += chunk; });
    const proxy = new AwsProxy(() => `http://127.0.0.1:${(fakeMoto.address() as AddressInfo).port}`, new LambdaRuntime(logStream), logStream);
    const port = await proxy.listen();
    const call = (target: string) => http.request({
      port,
      host: '127.0.0.1',
      method: 'POST',
      path: '/',
      headers: { 'x-amz-target': target, 'authorization': 'AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=x' },
    });
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise(resolve => setImmediate(resolve));
    };
    try {
      const answered = call('AmazonSSM.GetCommandInvocation');
      await new Promise(resolve => answered.on('response', res => res.resume().on('end', resolve)).end('{}'));
      await until(() => log.includes('<- moto'));
      expect(log).toMatch(/^proxy: ssm:GetCommandInvocation <- moto 200 in \d+ ms$/m);

      const abandoned = call('AmazonSSM.SendCommand').on('error', () => undefined);
      abandoned.end('{}');
      await until(() => held.length === 1);
      abandoned.destroy();
      await until(() => log.includes('SendCommand <- moto'));
      expect(log).toMatch(/^proxy: ssm:SendCommand <- moto \d+ in \d+ ms, after the caller had given up$/m);
      expect(log).not.toMatch(/GetCommandInvocation.*given up/);
    } finally {
      held.forEach(res => res.destroy());
      await proxy.close();
      fakeMoto.closeAllConnections();
      await new Promise(resolve => fakeMoto.close(resolve));
    }
  });
});
