import { Duration } from 'aws-cdk-lib';
import { amiRunHelpers, refreshAnswer, statesEntered } from './emulator-run';
import { describeWithEmulator } from '../emulator/harness';
import { PIPELINE_EXECUTION_ID } from '../vm-command/emulator-run';

/*
 * The stage's instance refreshes on the emulator (see emulator-run.ts for what moto fakes and the
 * tests script): a file of their own, so that jest runs them beside the other runs.
 */

describeWithEmulator('AmiRefreshStage instance refreshes on the emulator', emulator => {
  const { prepare, startRun, onlyResult, deliverToEventFunction } = amiRunHelpers(emulator);

  function scriptRefresh(refreshId: string, statuses: Array<{ status: string; reason?: string }>) {
    emulator().script('autoscaling', 'StartInstanceRefresh', { body: { InstanceRefreshId: refreshId } });
    let polls = 0;
    emulator().script('autoscaling', 'DescribeInstanceRefreshes', (input: any) => {
      if (input['InstanceRefreshIds.member.1'] !== refreshId) return { body: { InstanceRefreshes: [] } };
      const { status, reason } = statuses[Math.min(polls++, statuses.length - 1)];
      return refreshAnswer(refreshId, status, reason ? { StatusReason: reason } : {});
    });
    emulator().script('autoscaling', 'CancelInstanceRefresh', { body: { InstanceRefreshId: refreshId } });
    emulator().script('autoscaling', 'RollbackInstanceRefresh', { body: { InstanceRefreshId: refreshId } });
  }

  /** Resolves once the execution parked on `key`: the interpreter's PutItem of the task token is stored. */
  async function parkedOn(key: string) {
    const park = await emulator().waitForCall('dynamodb', 'PutItem', c => c.input.Item?.pk?.S === key && Boolean(c.input.Item?.taskToken?.S));
    await emulator().waitForItem(park.input.TableName, { pk: { S: key } });
    return park;
  }

  test('a refresh that succeeds: pinned to the new version, resumed by its event, its id an output variable', async () => {
    const s = await prepare({
      instanceRefresh: { minHealthyPercentage: 50, instanceWarmup: Duration.seconds(60) },
      backstopInterval: Duration.minutes(5),
    });
    scriptRefresh('r-1', [{ status: 'InProgress' }]);
    const { executionArn } = await startRun(s);
    const park = await parkedOn('refresh#r-1');
    // The parked token expires from the run table with the run, even if no event ever takes it.
    const expiresIn = Number(park.input.Item.expiresAt.N) - Date.now() / 1000;
    expect(expiresIn).toBeGreaterThan(2.9 * 24 * 3600);
    expect(expiresIn).toBeLessThanOrEqual(3 * 24 * 3600);
    scriptRefresh('r-1', [{ status: 'Successful' }]);
    await deliverToEventFunction(s, {
      'source': 'aws.autoscaling',
      'detail-type': 'EC2 Auto Scaling Instance Refresh Succeeded',
      'detail': { InstanceRefreshId: 'r-1', AutoScalingGroupName: 'web' },
    });
    const result = await emulator().waitForExecution(executionArn);
    // The event resumed the wait: the park never reached its timeout (the 5-minute backstop).
    expect(result.history.filter(e => e.type === 'TaskTimedOut')).toEqual([]);
    expect(result.status).toBe('SUCCEEDED');
    const start = emulator().calls('autoscaling', 'StartInstanceRefresh')[0].input;
    expect(start).toMatchObject({
      'AutoScalingGroupName': 'web',
      'DesiredConfiguration.LaunchTemplate.LaunchTemplateId': s.launchTemplateId,
      'DesiredConfiguration.LaunchTemplate.Version': '2',
      'Preferences.MinHealthyPercentage': '50',
      'Preferences.InstanceWarmup': '60',
      'Preferences.SkipMatching': 'true',
      'Preferences.AutoRollback': 'false',
    });
    // The pinned refresh points the group at the version when it succeeds; the stage does not.
    expect(emulator().calls('autoscaling', 'UpdateAutoScalingGroup')).toEqual([]);
    const { kind, input } = onlyResult();
    expect(kind).toBe('success');
    expect(input.outputVariables).toMatchObject({ LaunchTemplateVersion: '2', InstanceRefreshId: 'r-1' });
    expect(input.executionDetails.summary).toContain('instance refresh r-1 succeeded');
  });

  test('a refresh that fails and rolls back: the failure carries the reason', async () => {
    const s = await prepare({ instanceRefresh: { autoRollback: true } });
    scriptRefresh('r-2', [{ status: 'InProgress' }, { status: 'RollbackInProgress' }, { status: 'RollbackSuccessful', reason: 'Instances failed to pass health checks' }]);
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(result.status).toBe('SUCCEEDED');
    const { kind, input } = onlyResult();
    expect(kind).toBe('failure');
    expect(input.failureDetails.message).toBe('instance refresh r-2 ended RollbackSuccessful: Instances failed to pass health checks');
    // It ended on its own: nothing to cancel or roll back.
    expect(emulator().calls('autoscaling', 'CancelInstanceRefresh')).toEqual([]);
    expect(emulator().calls('autoscaling', 'RollbackInstanceRefresh')).toEqual([]);
    expect(emulator().calls('autoscaling', 'StartInstanceRefresh')[0].input['Preferences.AutoRollback']).toBe('true');
  });

  test('a refresh already in progress fails the stage up front, naming the group', async () => {
    const s = await prepare({ instanceRefresh: {} });
    emulator().script('autoscaling', 'DescribeInstanceRefreshes', refreshAnswer('r-other', 'InProgress'));
    await emulator().waitForExecution((await startRun(s)).executionArn);
    const { kind, input } = onlyResult();
    expect(kind).toBe('failure');
    expect(input.failureDetails.message).toMatch(/^StageError: Auto Scaling group web is in the middle of instance refresh r-other \(InProgress\)/);
    expect(emulator().calls('ec2', 'CreateImage')).toEqual([]);
    expect(emulator().calls('autoscaling', 'EnterStandby')).toEqual([]);
  });

  test('the pipeline abandoned mid-refresh: the execution is stopped and the refresh cancelled, one failure', async () => {
    const s = await prepare({ instanceRefresh: {}, backstopInterval: Duration.minutes(5) });
    scriptRefresh('r-3', [{ status: 'InProgress' }]);
    const { executionArn } = await startRun(s);
    await parkedOn('refresh#r-3');
    await deliverToEventFunction(s, {
      source: 'aws.codepipeline',
      stateMachineArn: s.stateMachineArn,
      detail: { 'pipeline': 'Pipeline', 'execution-id': PIPELINE_EXECUTION_ID, 'state': 'ABANDONED' },
    });
    expect(emulator().calls('states', 'StopExecution').map(c => c.input.executionArn)).toEqual([executionArn]);
    // Stopping the execution is all the pipeline event does; the ABORTED event cleans up.
    expect(emulator().calls('autoscaling', 'CancelInstanceRefresh')).toEqual([]);
    // moto 5.2.1 only notices StopExecution once the parked task wakes up: a refresh event wakes it.
    await deliverToEventFunction(s, { source: 'aws.autoscaling', detail: { InstanceRefreshId: 'r-3', AutoScalingGroupName: 'web' } });
    const result = await emulator().waitForExecution(executionArn);
    expect(result.status).toBe('ABORTED');
    // EventBridge then delivers the execution's ABORTED event.
    await deliverToEventFunction(s, {
      'source': 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      'detail': { executionArn, name: 'job-1', status: 'ABORTED', stateMachineArn: s.stateMachineArn, error: 'PipelineStopped', cause: 'abandoned' },
    });
    expect(emulator().calls('autoscaling', 'CancelInstanceRefresh')).toHaveLength(1);
    const { kind, input } = onlyResult();
    expect(kind).toBe('failure');
    expect(input.failureDetails.message).toContain('instance refresh r-3 was cancelled');
  });

  test('stopped with auto-rollback on: the refresh is rolled back instead of cancelled', async () => {
    const s = await prepare({ instanceRefresh: { autoRollback: true }, backstopInterval: Duration.minutes(5) });
    scriptRefresh('r-4', [{ status: 'InProgress' }]);
    const { executionArn } = await startRun(s);
    await parkedOn('refresh#r-4');
    await deliverToEventFunction(s, {
      'source': 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      'detail': { executionArn, name: 'job-1', status: 'TIMED_OUT', stateMachineArn: s.stateMachineArn },
    });
    expect(emulator().calls('autoscaling', 'RollbackInstanceRefresh')).toHaveLength(1);
    expect(emulator().calls('autoscaling', 'CancelInstanceRefresh')).toEqual([]);
    expect(onlyResult().input.failureDetails.message).toMatch(/timed out\ninstance refresh r-4 was rolled back/);
  });

  test('a refresh still running at its timeout is cancelled and the stage fails', async () => {
    const s = await prepare({ instanceRefresh: {} }, {}, 3);
    scriptRefresh('r-5', [{ status: 'InProgress' }]);
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(statesEntered(result)).toContain('RefreshTimedOut');
    expect(emulator().calls('autoscaling', 'CancelInstanceRefresh')).toHaveLength(1);
    expect(onlyResult().input.failureDetails.message).toBe('instance refresh r-5 did not end within the stage\'s refresh timeout\ninstance refresh r-5 was cancelled');
  });

});
