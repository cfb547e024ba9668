import { DescribeImagesCommand, DescribeLaunchTemplateVersionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  amiRunHelpers, groupInstances, lifecycleStates, makeUnhealthy, PIPELINE_EXECUTION_ID, putInStandby, STAGE_TAG_KEY, statesEntered,
  stepsInvoked, USER_DATA,
} from './emulator-run';
import { describeWithEmulator } from '../emulator/harness';

/* The stage's runs on the emulator (see emulator-run.ts for what moto fakes and the tests script). */

describeWithEmulator('AmiRefreshStage on the emulator', emulator => {
  const { prepare, startRun, onlyResult, jobResults } = amiRunHelpers(emulator);

  test('a group of 3 with one unhealthy and one in Standby: the healthy InService instance is imaged, goes through Standby and is back in service', async () => {
    const s = await prepare();
    const [a, b, c] = s.instanceIds;
    await makeUnhealthy(emulator(), a);
    await putInStandby(emulator(), c);
    const callsBefore = emulator().calls().length;
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    const runCalls = emulator().calls().slice(callsBefore);

    expect(result.status).toBe('SUCCEEDED');
    const [created] = emulator().calls('ec2', 'CreateImage');
    expect(created.input).toMatchObject({ InstanceId: b, Name: `web-${PIPELINE_EXECUTION_ID}`, NoReboot: 'false' });
    const standbyCalls = (operation: string) => runCalls.filter(call => call.operation === operation).map(call => call.input['InstanceIds.member.1']);
    expect(standbyCalls('EnterStandby')).toEqual([b]);
    expect(standbyCalls('ExitStandby')).toEqual([b]);
    expect((await lifecycleStates(emulator()))[b]).toBe('InService/Healthy');
    const { kind, input } = onlyResult();
    expect(kind).toBe('success');
    const imageId = input.outputVariables.ImageId;
    expect(input.outputVariables).toEqual({ ImageId: imageId, LaunchTemplateVersion: '2', InstanceRefreshId: '' });
    const [image] = (await emulator().client(EC2Client).send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images!;
    expect(Object.fromEntries(image.Tags!.map(t => [t.Key, t.Value]))).toMatchObject({
      AutoScalingGroup: 'web', PipelineExecutionId: PIPELINE_EXECUTION_ID, Commit: 'abc123', [STAGE_TAG_KEY]: s.stage.stageTagValue,
    });
    expect(statesEntered(result)).toEqual(['Prepare', 'CreateImage', 'ImagePoll', 'ImageState', 'Release', 'Publish', 'Finish']);
    expect(stepsInvoked(runCalls)).toEqual(['prepare', 'image', 'release', 'publish', 'finish']);
  });

  test('the new version keeps user data, block devices and metadata options; only the image changes; the group points at it', async () => {
    const s = await prepare();
    await emulator().waitForExecution((await startRun(s)).executionArn);
    const imageId = onlyResult().input.outputVariables.ImageId;
    const versions = await emulator().client(EC2Client).send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: s.launchTemplateId }));
    const byNumber = Object.fromEntries(versions.LaunchTemplateVersions!.map(v => [v.VersionNumber!, v.LaunchTemplateData!]));
    expect(byNumber[2]).toEqual({ ...byNumber[1], ImageId: imageId });
    expect(byNumber[2].UserData).toBe(USER_DATA);
    expect(byNumber[2].MetadataOptions).toMatchObject({ HttpTokens: 'required' });
    expect(byNumber[2].BlockDeviceMappings?.[0]).toMatchObject({ DeviceName: '/dev/xvda' });
    const update = emulator().calls('autoscaling', 'UpdateAutoScalingGroup')[0];
    expect(update.input).toMatchObject({ 'AutoScalingGroupName': 'web', 'LaunchTemplate.LaunchTemplateId': s.launchTemplateId, 'LaunchTemplate.Version': '2' });
    expect(await groupInstances(emulator())).toHaveLength(3);
  });

  /** DescribeImages as the wait's poll sends it (by image id) answers `states` in turn; other lookups go to moto. */
  function scriptImagePoll(states: Array<{ imageState: string; stateReason?: object }>) {
    let polls = 0;
    emulator().script('ec2', 'DescribeImages', (input: any) => {
      if (!input['ImageId.1']) return undefined;
      const answer = states[Math.min(polls++, states.length - 1)];
      return { body: { imagesSet: [{ imageId: input['ImageId.1'], name: 'web', ...answer }] } };
    });
  }

  test('an image that goes failed: the stage fails with the state reason and the instance is back in service', async () => {
    const s = await prepare();
    scriptImagePoll([{ imageState: 'pending' }, { imageState: 'pending' }, { imageState: 'failed', stateReason: { code: 'Server.InternalError', message: 'snapshot copy failed' } }]);
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(result.status).toBe('SUCCEEDED');
    const { kind, input } = onlyResult();
    expect(kind).toBe('failure');
    expect(input.failureDetails.message).toMatch(/^image ami-\w+ ended failed: snapshot copy failed\ninstance i-\w+ was returned to service$/);
    expect(Object.values(await lifecycleStates(emulator()))).toEqual(['InService/Healthy', 'InService/Healthy', 'InService/Healthy']);
    expect(emulator().calls('ec2', 'CreateLaunchTemplateVersion')).toEqual([]);
    expect(statesEntered(result).filter(n => n === 'ImagePoll')).toHaveLength(3);
  });

  test('a failure after CreateImage (publishing refused): the instance is back in service, one failure', async () => {
    const s = await prepare();
    emulator().script('ec2', 'CreateLaunchTemplateVersion', { error: { code: 'UnauthorizedOperation', message: 'not allowed', status: 403 } });
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    const { kind, input } = onlyResult();
    expect(kind).toBe('failure');
    expect(input.failureDetails.message).toContain('UnauthorizedOperation: not allowed');
    expect(emulator().calls('ec2', 'CreateLaunchTemplateVersion')).toHaveLength(1);
    expect(Object.values(await lifecycleStates(emulator())).every(st => st === 'InService/Healthy')).toBe(true);
    expect(statesEntered(result)).toContain('Release');
  });

  test('the instance is back in service when the image fails while it is still in Standby (no Release on the way)', async () => {
    const s = await prepare();
    scriptImagePoll([{ imageState: 'failed', stateReason: { message: 'boom' } }]);
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(statesEntered(result)).not.toContain('Release');
    expect(result.calls.filter(c => c.operation === 'ExitStandby')).toHaveLength(1);
    expect(Object.values(await lifecycleStates(emulator())).every(st => st === 'InService/Healthy')).toBe(true);
    expect(onlyResult().kind).toBe('failure');
  });

  test('a retried execution of the same pipeline execution makes no second image and no second version', async () => {
    const s = await prepare();
    await emulator().waitForExecution((await startRun(s, 'job-1')).executionArn);
    await emulator().waitForExecution((await startRun(s, 'job-2')).executionArn);
    const successes = jobResults('PutJobSuccessResult');
    expect(successes.map(r => r.jobId)).toEqual(['job-1', 'job-2']);
    expect(jobResults('PutJobFailureResult')).toEqual([]);
    expect(successes[1].outputVariables).toEqual(successes[0].outputVariables);
    expect(emulator().calls('ec2', 'CreateImage')).toHaveLength(1);
    const versions = await emulator().client(EC2Client).send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: s.launchTemplateId }));
    expect(versions.LaunchTemplateVersions!.map(v => v.VersionNumber).sort()).toEqual([1, 2]);
    // The second run found the image by name: it put no instance into Standby.
    expect(emulator().calls('autoscaling', 'EnterStandby')).toHaveLength(1);
  });
});
