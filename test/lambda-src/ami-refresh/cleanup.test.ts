import { AutoScalingClient, CancelInstanceRefreshCommand, DescribeInstanceRefreshesCommand } from '@aws-sdk/client-auto-scaling';
import { mockClient } from 'aws-sdk-client-mock';
import { undoWork } from '../../../lambda-src/ami-refresh/cleanup';

/*
 * A failed or stopped run stops the refresh it asked for even when StartInstanceRefresh's answer
 * (the refresh id) never reached it: the refresh is found by when it started (EC2 Auto Scaling API
 * reference, DescribeInstanceRefreshes: StartTime; CancelInstanceRefresh).
 */

const autoscaling = mockClient(AutoScalingClient);
const requestedAt = '2026-12-03T10:00:00.000Z';

beforeEach(() => {
  autoscaling.reset();
  autoscaling.on(CancelInstanceRefreshCommand).resolves({ InstanceRefreshId: 'r-own' });
});

test('the refresh started since the run asked for one is cancelled', async () => {
  autoscaling.on(DescribeInstanceRefreshesCommand).resolves({
    InstanceRefreshes: [{ InstanceRefreshId: 'r-own', Status: 'InProgress', StartTime: new Date('2026-12-03T10:00:01Z') }],
  });
  expect(await undoWork({ groupName: 'web', refreshRequestedAt: requestedAt })).toBe('instance refresh r-own was cancelled');
  expect(autoscaling.commandCalls(CancelInstanceRefreshCommand)).toHaveLength(1);
});

test('a refresh that started before the run asked is someone else\'s: left alone', async () => {
  autoscaling.on(DescribeInstanceRefreshesCommand).resolves({
    InstanceRefreshes: [{ InstanceRefreshId: 'r-other', Status: 'InProgress', StartTime: new Date('2026-12-03T09:50:00Z') }],
  });
  expect(await undoWork({ groupName: 'web', refreshRequestedAt: requestedAt })).toBeUndefined();
  expect(autoscaling.commandCalls(CancelInstanceRefreshCommand)).toEqual([]);
});
