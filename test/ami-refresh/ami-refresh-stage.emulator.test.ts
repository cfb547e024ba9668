import { AutoScalingClient, DescribeAutoScalingGroupsCommand, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import {
  CreateImageCommand, CreateLaunchTemplateCommand, CreateLaunchTemplateVersionCommand, DescribeImagesCommand, DescribeLaunchTemplateVersionsCommand,
  DescribeSnapshotsCommand, EC2Client,
} from '@aws-sdk/client-ec2';
import { Duration } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import {
  amiRunHelpers, groupInstances, lifecycleStates, makeUnhealthy, putInStandby, STAGE_TAG_KEY, statesEntered,
  stepsInvoked, USER_DATA,
} from './emulator-run';
import { ImagePruning } from '../../src';
import { describeWithEmulator } from '../emulator/harness';
import { PIPELINE_EXECUTION_ID } from '../vm-command/emulator-run';

/* The stage's runs on the emulator (see emulator-run.ts for what moto fakes and the tests script). */

describeWithEmulator('AmiRefreshStage on the emulator', emulator => {
  const { prepare, startRun, onlyResult, jobResults } = amiRunHelpers(emulator);

  test('a group of 3 with one unhealthy and one in Standby: the healthy InService instance is imaged, goes through Standby and is back in service', async () => {
    const s = await prepare();
    const [a, , c] = s.instanceIds;
    await makeUnhealthy(emulator(), a);
    await putInStandby(emulator(), c);
    // moto may replace the unhealthy instance at once: the expected one is the lowest healthy InService id.
    const states = await lifecycleStates(emulator());
    expect(states[c]).toBe('Standby/Healthy');
    const b = Object.keys(states).filter(id => states[id] === 'InService/Healthy').sort()[0];
    expect([a, c]).not.toContain(b);
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

  // EC2 Auto Scaling API reference, EnterStandby (ShouldDecrementDesiredCapacity; decrementing must keep
  // desired >= minimum) and ExitStandby ("the desired capacity is incremented"); SetDesiredCapacity.
  test('a group whose desired capacity is its minimum: Standby keeps the capacity, and the run puts it back after ExitStandby', async () => {
    const s = await prepare({}, { size: 1 });
    const capacity = async () => (await emulator().client(AutoScalingClient).send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['web'] })))
      .AutoScalingGroups![0].DesiredCapacity;
    expect(await capacity()).toBe(1);
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(result.status).toBe('SUCCEEDED');
    const [enter] = emulator().calls('autoscaling', 'EnterStandby');
    expect(enter.input.ShouldDecrementDesiredCapacity).toBe('false');
    expect(emulator().calls('autoscaling', 'ExitStandby')).toHaveLength(1);
    expect(await capacity()).toBe(1);
    expect(onlyResult().kind).toBe('success');
  });

  test('a group above its minimum: Standby lowers the desired capacity and ExitStandby raises it; nothing else changes it', async () => {
    const s = await prepare();
    await emulator().waitForExecution((await startRun(s)).executionArn);
    const [enter] = emulator().calls('autoscaling', 'EnterStandby');
    expect(enter.input.ShouldDecrementDesiredCapacity).toBe('true');
    expect(emulator().calls('autoscaling', 'SetDesiredCapacity')).toEqual([]);
    const out = await emulator().client(AutoScalingClient).send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['web'] }));
    expect(out.AutoScalingGroups![0].DesiredCapacity).toBe(3);
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

  // EC2 user guide, launch template quotas (10,000 versions per template); EC2 API reference,
  // DeleteLaunchTemplateVersions (moto 5.2.1 lacks it: its answer is scripted here).
  test('a template with many versions the stage made: the oldest are deleted after publishing, the default and the newest kept', async () => {
    const s = await prepare();
    const ec2Client = emulator().client(EC2Client);
    for (let n = 2; n <= 25; n++) {
      await ec2Client.send(new CreateLaunchTemplateVersionCommand({
        LaunchTemplateId: s.launchTemplateId,
        SourceVersion: '1',
        VersionDescription: `ami-${n.toString(16).padStart(8, '0')} from pipeline execution old-${n}`,
        LaunchTemplateData: { ImageId: 'ami-12c6146b' },
      }));
    }
    emulator().script('ec2', 'DeleteLaunchTemplateVersions', (input: any) => ({
      body: {
        successfullyDeletedLaunchTemplateVersionSet: Object.keys(input).filter(k => k.startsWith('LaunchTemplateVersion.'))
          .map(k => ({ launchTemplateId: s.launchTemplateId, versionNumber: input[k] })),
      },
    }));
    await emulator().waitForExecution((await startRun(s)).executionArn);
    const { kind, input } = onlyResult();
    expect(kind).toBe('success');
    expect(input.outputVariables.LaunchTemplateVersion).toBe('26');
    const [call] = emulator().calls('ec2', 'DeleteLaunchTemplateVersions');
    // Versions 2-25 are the stage's (version 1, the default and the group's, is not): the 20 newest of them stay.
    expect(Object.entries(call.input).filter(([k]) => k.startsWith('LaunchTemplateVersion.')).map(([, v]) => Number(v)).sort((a, b) => a - b)).toEqual([2, 3, 4, 5]);
    expect(input.executionDetails.summary).toContain('deleted 4 old launch template version(s)');
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

  /**
   * moto has no instance refreshes: StartInstanceRefresh answers `refreshId`, and
   * DescribeInstanceRefreshes answers `statuses` in turn for it (and no refresh to other lookups).
   */
  test('pruning keeps the newest N, skips an image another template\'s default version uses, and deletes the snapshots', async () => {
    const s = await prepare({ pruning: ImagePruning.keepNewest(2) });
    const client = emulator().client(EC2Client);
    const tags = [{ Key: STAGE_TAG_KEY, Value: s.stage.stageTagValue }];
    const old: string[] = [];
    for (const n of [1, 2, 3]) {
      const out = await client.send(new CreateImageCommand({ InstanceId: s.instanceIds[0], Name: `web-old-${n}`, TagSpecifications: [{ ResourceType: 'image', Tags: tags }] }));
      old.push(out.ImageId!);
      await new Promise(resolve => setTimeout(resolve, 1100));
    }
    await client.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'other', LaunchTemplateData: { ImageId: old[0] } }));
    const snapshotOf = async (imageId: string) =>
      (await client.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images![0].BlockDeviceMappings![0].Ebs!.SnapshotId!;
    const oldSnapshot = await snapshotOf(old[1]);
    await emulator().waitForExecution((await startRun(s)).executionArn);

    const { kind, input } = onlyResult();
    expect(kind).toBe('success');
    const remaining = (await client.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: `tag:${STAGE_TAG_KEY}`, Values: [s.stage.stageTagValue] }] })))
      .Images!.map(i => i.ImageId).sort();
    expect(remaining).toEqual([input.outputVariables.ImageId, old[0], old[2]].sort());
    expect(emulator().calls('ec2', 'DeregisterImage').map(c => c.input.ImageId)).toEqual([old[1]]);
    expect(emulator().calls('ec2', 'DeleteSnapshot').map(c => c.input.SnapshotId)).toEqual([oldSnapshot]);
    const snapshots = await client.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
    expect(snapshots.Snapshots!.map(sn => sn.SnapshotId)).not.toContain(oldSnapshot);
    expect(input.executionDetails.summary).toContain(`pruned 1 image(s) (${old[1]}); kept in use: ${old[0]} (launch template`);
  });

  test('instances on an older launch template version are not imaged: the stage fails, naming the group, the version and each instance', async () => {
    const s = await prepare();
    const client = emulator().client(EC2Client);
    await client.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: s.launchTemplateId, SourceVersion: '1', LaunchTemplateData: { InstanceType: 't3.large' } }));
    await emulator().client(AutoScalingClient).send(new UpdateAutoScalingGroupCommand({
      AutoScalingGroupName: 'web', LaunchTemplate: { LaunchTemplateId: s.launchTemplateId, Version: '2' },
    }));
    await emulator().waitForExecution((await startRun(s)).executionArn);
    const { kind, input } = onlyResult();
    expect(kind).toBe('failure');
    expect(input.failureDetails.message).toMatch(new RegExp(
      `^StageError: Auto Scaling group web has no healthy InService instance on launch template ${s.launchTemplateId} version 2; its instances: i-\\w+ InService/Healthy ${s.launchTemplateId}:1`));
    expect(emulator().calls('ec2', 'CreateImage')).toEqual([]);
  });

  test('a group with a mixed instances policy: the policy\'s template gets the version, the group\'s policy points at it', async () => {
    const s = await prepare({}, { mixed: true });
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(result.status).toBe('SUCCEEDED');
    const { kind, input } = onlyResult();
    expect(kind).toBe('success');
    expect(input.outputVariables.LaunchTemplateVersion).toBe('2');
    expect(emulator().calls('autoscaling', 'UpdateAutoScalingGroup')[0].input).toMatchObject({
      'MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateId': s.launchTemplateId,
      'MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.Version': '2',
    });
  });

  test('an encrypted copy is waited on and published; it is shared, copied to another region and written to the SSM parameter', async () => {
    const keyArn = 'arn:aws:kms:us-east-1:123456789012:key/0b5b2a3c-1111-2222-3333-444455556666';
    const s = await prepare(stack => ({
      imageCopy: { kmsKey: kms.Key.fromKeyArn(stack, 'Key', keyArn), regions: ['eu-west-1'] },
      shareWithAccounts: ['222222222222'],
      imageIdParameter: new ssm.StringParameter(stack, 'ImageId', { parameterName: 'web-image', stringValue: 'ami-00000000', dataType: ssm.ParameterDataType.AWS_EC2_IMAGE }),
      makeDefaultVersion: true,
    }));
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(statesEntered(result).filter(n => n === 'CopyPoll')).toHaveLength(1);
    const { kind, input } = onlyResult();
    expect(kind).toBe('success');
    const [copy] = emulator().calls('ec2', 'CopyImage').filter(c => c.input.Encrypted === 'true');
    expect(copy.input).toMatchObject({ KmsKeyId: keyArn, Name: `web-${PIPELINE_EXECUTION_ID}-encrypted` });
    const published = input.outputVariables.ImageId;
    expect(published).not.toBe(copy.input.SourceImageId);
    expect(emulator().calls('ec2', 'ModifyImageAttribute')[0].input).toMatchObject({ 'ImageId': published, 'LaunchPermission.Add.1.UserId': '222222222222' });
    expect(emulator().calls('ssm', 'PutParameter')[0].input).toMatchObject({ Name: 'web-image', Value: published, DataType: 'aws:ec2:image' });
    expect(emulator().calls('ec2', 'ModifyLaunchTemplate')[0].input).toMatchObject({ SetDefaultVersion: '2' });
    expect(input.executionDetails.summary).toMatch(/copies started: eu-west-1 ami-\w+/);
  });

  test('an image still pending at imageTimeout: the stage fails, the instance is back in service', async () => {
    const s = await prepare({}, {}, 2);
    scriptImagePoll([{ imageState: 'pending' }]);
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(statesEntered(result)).toContain('ImageTimedOut');
    const { kind, input } = onlyResult();
    expect(kind).toBe('failure');
    expect(input.failureDetails.message).toMatch(/^image ami-\w+ was not available within the stage's imageTimeout\ninstance i-\w+ was returned to service$/);
    expect(Object.values(await lifecycleStates(emulator())).every(st => st === 'InService/Healthy')).toBe(true);
  });

  test('pruning by age deregisters the stage\'s images older than maxAge, and always keeps the newest', async () => {
    const s = await prepare({ pruning: ImagePruning.olderThan(Duration.days(3)) });
    const client = emulator().client(EC2Client);
    const tags = [{ Key: STAGE_TAG_KEY, Value: s.stage.stageTagValue }];
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      ids.push((await client.send(new CreateImageCommand({ InstanceId: s.instanceIds[0], Name: `web-old-${n}`, TagSpecifications: [{ ResourceType: 'image', Tags: tags }] }))).ImageId!);
    }
    // moto dates every image now: the stage's listing (by its tag) is scripted with older creation dates.
    const daysAgo = (days: number) => new Date(Date.now() - days * 24 * 3600 * 1000).toISOString();
    emulator().script('ec2', 'DescribeImages', (input: any) => (input['Filter.1.Name'] === `tag:${STAGE_TAG_KEY}`
      ? { body: { imagesSet: [[ids[0], 10], [ids[1], 5], [ids[2], 2]].map(([imageId, age]) => ({ imageId, imageState: 'available', creationDate: daysAgo(age as number) })) } }
      : undefined));
    await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(onlyResult().kind).toBe('success');
    expect(emulator().calls('ec2', 'DeregisterImage').map(c => c.input.ImageId).sort()).toEqual([ids[0], ids[1]].sort());
  });
});
