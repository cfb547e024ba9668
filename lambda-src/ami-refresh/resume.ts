import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { EventBridgeEvent } from 'aws-lambda';
import { z } from 'zod/v3';
import { parseInput } from '../core/input';
import { conditionalUpdate, dynamodb, tableName } from '../core/job-table';
import { logger } from '../core/logger';
import { resumeWaitingTask } from '../core/task-token';

/*
 * EventBridge target for image state changes (`EC2 AMI State Change`) and the group's instance
 * refresh events: resumes the run parked on that image or refresh, whose next poll reads the final
 * state. Events of images and refreshes no run waits on find no token and are ignored.
 */

const ImageEvent = z.object({ source: z.literal('aws.ec2'), detail: z.object({ ImageId: z.string().min(1), State: z.string() }) });
const RefreshEvent = z.object({ source: z.literal('aws.autoscaling'), detail: z.object({ InstanceRefreshId: z.string().min(1) }) });

export async function resume(event: EventBridgeEvent<string, unknown>): Promise<void> {
  const pk = event.source === 'aws.ec2'
    ? `image#${parseInput(ImageEvent, event, 'image state event').detail.ImageId}`
    : `refresh#${parseInput(RefreshEvent, event, 'instance refresh event').detail.InstanceRefreshId}`;
  const out = await dynamodb().send(new GetItemCommand({ TableName: tableName(), Key: { pk: { S: pk } }, ConsistentRead: true }));
  const taskToken = out.Item?.taskToken?.S;
  if (!taskToken) {
    logger.debug('no run waits on this event', { pk });
    return;
  }
  // A resume that fails (throttled, no answer) is thrown: Lambda retries the event with the token kept.
  await resumeWaitingTask(taskToken, { waitedOn: pk });
  // Only this token: the run may have parked again with a new one meanwhile.
  await conditionalUpdate({
    TableName: tableName(),
    Key: { pk: { S: pk } },
    ConditionExpression: 'taskToken = :t',
    UpdateExpression: 'REMOVE taskToken',
    ExpressionAttributeValues: { ':t': { S: taskToken } },
  });
}
