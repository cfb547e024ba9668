import './request-timeout';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { Duration } from 'aws-cdk-lib';
import { appliedThenDrop, drop, fakeCodePipeline, hang, serverError, throttled } from './fault-replies';
import { amiRunHelpers, lifecycleStates, refreshAnswer } from '../ami-refresh/emulator-run';
import { ScriptedReply } from '../emulator/aws-protocol';
import { describeWithEmulator } from '../emulator/harness';
import { PIPELINE_EXECUTION_ID } from '../vm-command/emulator-run';

/*
 * Fault injection on the AmiRefreshStage asset and state machine as they ship, on moto: the image,
 * Standby, publishing and job-result calls throttled, answered 5xx, hung, dropped or applied and
 * then dropped; events delivered twice; runs stopped while the instance is in Standby. Every
 * scenario ends with exactly one job result and every instance of the group in service. Calls time
 * out after FAULT_REQUEST_TIMEOUT_MS here (request-timeout.ts); the SDK makes one attempt, so each
 * retry is the state machine's.
 */

describeWithEmulator('AmiRefreshStage faults', emulator => {
  const { prepare, startRun, deliverToEventFunction } = amiRunHelpers(emulator);

  async function allInService(): Promise<boolean> {
    return Object.values(await lifecycleStates(emulator())).every(state => state === 'InService/Healthy');
  }

  async function ownImages(): Promise<number> {
    const out = await emulator().client(EC2Client).send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: [`web-${PIPELINE_EXECUTION_ID}`] }] }));
    return out.Images!.length;
  }

  /** The first `count` calls of an operation get the fault; later ones go through. */
  function firstCalls(service: string, operation: string, fault: ScriptedReply, count = 1) {
    let calls = 0;
    emulator().script(service, operation, () => (++calls <= count ? fault : undefined));
  }

  test.each<[string, ScriptedReply]>([
    ['throttled', throttled],
    ['answered 5xx', serverError],
    ['hung', hang],
    ['dropped', drop],
    ['applied, then dropped', appliedThenDrop],
  ])('CreateImage %s: the step is tried again, one image, one success, the instance back in service', async (_name, fault) => {
    const s = await prepare();
    firstCalls('ec2', 'CreateImage', fault);
    const codepipeline = fakeCodePipeline(emulator);
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(result.status).toBe('SUCCEEDED');
    expect(codepipeline.results().map(r => r.operation)).toEqual(['PutJobSuccessResult']);
    expect(await ownImages()).toBe(1);
    expect(await allInService()).toBe(true);
  });

  test.each<[string, ScriptedReply]>([
    ['throttled', throttled],
    ['hung', hang],
    ['applied, then dropped', appliedThenDrop],
  ])('EnterStandby %s: the retry keeps the recorded instance; one image, one success, back in service', async (_name, fault) => {
    const s = await prepare();
    firstCalls('autoscaling', 'EnterStandby', fault);
    const codepipeline = fakeCodePipeline(emulator);
    await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(codepipeline.results().map(r => r.operation)).toEqual(['PutJobSuccessResult']);
    const imaged = new Set(emulator().calls('ec2', 'CreateImage').map(c => c.input.InstanceId));
    expect(imaged.size).toBe(1);
    expect(await allInService()).toBe(true);
  });

  test.each<[string, ScriptedReply]>([['throttled', throttled], ['hung', hang], ['answered 5xx', serverError]])(
    'ExitStandby %s on the way out: tried again, the instance is back in service, one success', async (_name, fault) => {
      const s = await prepare();
      firstCalls('autoscaling', 'ExitStandby', fault);
      const codepipeline = fakeCodePipeline(emulator);
      await emulator().waitForExecution((await startRun(s)).executionArn);
      expect(codepipeline.results().map(r => r.operation)).toEqual(['PutJobSuccessResult']);
      expect(await allInService()).toBe(true);
    });

  // EC2 API reference, CreateImage and "Error codes": a second CreateImage of a name answers
  // InvalidAMIName.Duplicate; DescribeImages is eventually consistent ("Eventual consistency in the
  // Amazon EC2 API"). moto checks no duplicate names: the refusal and the late listing are scripted.
  test('CreateImage applied, then dropped, and the image not listed yet: the retry adopts it once it is listed; one image, one success', async () => {
    const s = await prepare();
    let created = false;
    let hidden = 2;
    emulator().script('ec2', 'CreateImage', () => {
      if (created) return { error: { code: 'InvalidAMIName.Duplicate', message: `AMI name web-${PIPELINE_EXECUTION_ID} is already in use by AMI` } };
      created = true;
      return appliedThenDrop;
    });
    emulator().script('ec2', 'DescribeImages', (input: any) => (
      created && input['Filter.1.Name'] === 'name' && hidden-- > 0 ? { body: { imagesSet: [] } } : undefined));
    const codepipeline = fakeCodePipeline(emulator);
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(result.status).toBe('SUCCEEDED');
    expect(codepipeline.results().map(r => r.operation)).toEqual(['PutJobSuccessResult']);
    expect(emulator().calls('ec2', 'CreateImage')).toHaveLength(2);
    expect(await ownImages()).toBe(1);
    expect(await allInService()).toBe(true);
  });

  // EC2 Auto Scaling API reference, StartInstanceRefresh (InstanceRefreshInProgress while one runs) and
  // DescribeInstanceRefreshes (StartTime). moto has no refreshes: they are scripted.
  test('an unpinned StartInstanceRefresh applied, then dropped: the retry adopts the refresh started since it asked, one success', async () => {
    const s = await prepare({ instanceRefresh: { pinVersion: false } });
    let startedAt: string | undefined;
    emulator().script('autoscaling', 'StartInstanceRefresh', () => {
      if (startedAt) return { error: { code: 'InstanceRefreshInProgress', message: 'An Instance Refresh is already in progress' } };
      startedAt = new Date().toISOString();
      return { fault: 'applied-then-drop', body: { InstanceRefreshId: 'r-1' } };
    });
    // The function lists the group's refreshes; the state machine's poll names r-1.
    emulator().script('autoscaling', 'DescribeInstanceRefreshes', (input: any) => (!startedAt ? { body: { InstanceRefreshes: [] } }
      : refreshAnswer('r-1', input['InstanceRefreshIds.member.1'] ? 'Successful' : 'InProgress', { StartTime: startedAt })));
    emulator().script('autoscaling', 'CancelInstanceRefresh', { body: { InstanceRefreshId: 'r-1' } });
    const codepipeline = fakeCodePipeline(emulator);
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(result.status).toBe('SUCCEEDED');
    const [success] = codepipeline.results();
    expect(codepipeline.results()).toHaveLength(1);
    expect(success.operation).toBe('PutJobSuccessResult');
    expect(success.input.outputVariables.InstanceRefreshId).toBe('r-1');
    expect(emulator().calls('autoscaling', 'StartInstanceRefresh')).toHaveLength(1);
    expect(emulator().calls('autoscaling', 'CancelInstanceRefresh')).toEqual([]);
  });

  // EC2 Auto Scaling API reference, ExitStandby: the desired capacity is incremented.
  test('ExitStandby applied, then dropped, for a group at its minimum: the retry still sets the desired capacity back', async () => {
    const s = await prepare({}, { size: 1 });
    firstCalls('autoscaling', 'ExitStandby', appliedThenDrop);
    const codepipeline = fakeCodePipeline(emulator);
    await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(codepipeline.results().map(r => r.operation)).toEqual(['PutJobSuccessResult']);
    const out = await emulator().client(AutoScalingClient).send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['web'] }));
    expect(out.AutoScalingGroups![0].DesiredCapacity).toBe(1);
    expect(await allInService()).toBe(true);
  });

  test('the image poll answered 5xx: the SDK task is retried and the run succeeds once', async () => {
    const s = await prepare();
    firstCalls('ec2', 'DescribeImages', serverError, 2);
    const codepipeline = fakeCodePipeline(emulator);
    // The first DescribeImages is Prepare's name lookup (a Lambda step); the second is the poll.
    await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(codepipeline.results().map(r => r.operation)).toEqual(['PutJobSuccessResult']);
    expect(await allInService()).toBe(true);
  });

  test.each<[string, ScriptedReply]>([
    ['throttled', throttled],
    ['answered 5xx', serverError],
    ['hung', hang],
    ['applied, then dropped', appliedThenDrop],
  ])('CreateLaunchTemplateVersion %s: the client token makes the retry return the same version', async (_name, fault) => {
    const s = await prepare();
    firstCalls('ec2', 'CreateLaunchTemplateVersion', fault);
    const codepipeline = fakeCodePipeline(emulator);
    await emulator().waitForExecution((await startRun(s)).executionArn);
    const [result] = codepipeline.results();
    expect(result.operation).toBe('PutJobSuccessResult');
    expect(result.input.outputVariables.LaunchTemplateVersion).toBe('2');
    expect(await allInService()).toBe(true);
  });

  test.each<[string, ScriptedReply]>([
    ['throttled', throttled],
    ['answered 5xx', serverError],
    ['hung', hang],
    ['dropped', drop],
    ['applied, then dropped', appliedThenDrop],
  ])('the success report %s: Finish is tried again and CodePipeline takes one result', async (_name, fault) => {
    const s = await prepare();
    const codepipeline = fakeCodePipeline(emulator, [fault]);
    await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(codepipeline.results().map(r => r.operation)).toEqual(['PutJobSuccessResult']);
    expect(await allInService()).toBe(true);
  });

  test.each<[string, ScriptedReply]>([['hung', hang], ['answered 5xx', serverError]])(
    'an image that fails, and the failure report %s: one failure, the instance back in service', async (_name, fault) => {
      const s = await prepare();
      emulator().script('ec2', 'DescribeImages', (input: any) => (input['ImageId.1']
        ? { body: { imagesSet: [{ imageId: input['ImageId.1'], imageState: 'failed', stateReason: { message: 'boom' } }] } } : undefined));
      const codepipeline = fakeCodePipeline(emulator, [fault]);
      await emulator().waitForExecution((await startRun(s)).executionArn);
      expect(codepipeline.results().map(r => [r.operation, r.input.failureDetails?.message])).toEqual([
        ['PutJobFailureResult', expect.stringMatching(/^image ami-\w+ ended failed: boom\ninstance i-\w+ was returned to service$/)],
      ]);
      expect(await allInService()).toBe(true);
    });

  test('the pipeline stopped while the instance is in Standby for a long bake: the instance returns to service, one failure', async () => {
    const s = await prepare({ backstopInterval: Duration.minutes(5) });
    emulator().script('ec2', 'DescribeImages', (input: any) => (input['ImageId.1']
      ? { body: { imagesSet: [{ imageId: input['ImageId.1'], imageState: 'pending' }] } } : undefined));
    const codepipeline = fakeCodePipeline(emulator);
    const { executionArn } = await startRun(s);
    const parked = await emulator().waitForCall('dynamodb', 'PutItem', c => String(c.input.Item?.pk?.S).startsWith('image#'));
    expect(await allInService()).toBe(false);
    await deliverToEventFunction(s, { source: 'aws.codepipeline', stateMachineArn: s.stateMachineArn, detail: { 'pipeline': 'p', 'execution-id': PIPELINE_EXECUTION_ID, 'state': 'CANCELED' } });
    // moto 5.2.1 notices StopExecution only once the parked task wakes: the image event wakes it.
    await deliverToEventFunction(s, { source: 'aws.ec2', detail: { ImageId: parked.input.Item.pk.S.slice('image#'.length), State: 'available' } });
    expect((await emulator().waitForExecution(executionArn)).status).toBe('ABORTED');
    const aborted = { source: 'aws.states', detail: { name: 'job-1', status: 'ABORTED', error: 'PipelineStopped', cause: 'canceled' } };
    await deliverToEventFunction(s, aborted);
    // EventBridge may deliver the event twice: the second finds the run reported.
    await deliverToEventFunction(s, aborted);
    expect(codepipeline.results().map(r => r.input.failureDetails.message)).toEqual([
      expect.stringMatching(/^the run's state machine execution aborted: PipelineStopped: canceled\ninstance i-\w+ was returned to service$/),
    ]);
    expect(emulator().calls('autoscaling', 'ExitStandby')).toHaveLength(1);
    expect(await allInService()).toBe(true);
  });

  test('an image event delivered twice resumes the run once; the second finds no waiting run', async () => {
    const s = await prepare({ backstopInterval: Duration.minutes(5) });
    let pending = true;
    emulator().script('ec2', 'DescribeImages', (input: any) => (input['ImageId.1'] && pending
      ? { body: { imagesSet: [{ imageId: input['ImageId.1'], imageState: 'pending' }] } } : undefined));
    const codepipeline = fakeCodePipeline(emulator);
    const { executionArn } = await startRun(s);
    const parked = await emulator().waitForCall('dynamodb', 'PutItem', c => String(c.input.Item?.pk?.S).startsWith('image#'));
    pending = false;
    const event = { source: 'aws.ec2', detail: { ImageId: parked.input.Item.pk.S.slice('image#'.length), State: 'available' } };
    await deliverToEventFunction(s, event);
    await deliverToEventFunction(s, event);
    expect((await emulator().waitForExecution(executionArn)).status).toBe('SUCCEEDED');
    expect(emulator().calls('states', 'SendTaskSuccess')).toHaveLength(1);
    expect(codepipeline.results().map(r => r.operation)).toEqual(['PutJobSuccessResult']);
  });
});
