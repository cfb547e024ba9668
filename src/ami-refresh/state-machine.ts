import { Duration } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';

/** What the definition needs: the shared function, the run table, the steps' settings and the waits. */
export interface AmiRunSettings {
  readonly runFunction: lambda.IFunction;
  readonly table: dynamodb.ITable;
  /** The stage's settings, written into the definition and passed to every step. */
  readonly config: { [key: string]: unknown };
  readonly groupName: string;
  readonly backstopInterval: Duration;
  readonly copy: boolean;
  readonly refresh: boolean;
  readonly prune: boolean;
}

/** Image states after which the image never becomes available. */
const IMAGE_FAILED = ['failed', 'invalid', 'error', 'deregistered', 'disabled'];
/** Instance refresh statuses that end a refresh without success. */
const REFRESH_FAILED = ['Failed', 'Cancelled', 'RollbackSuccessful', 'RollbackFailed'];

/**
 * Prepare → CreateImage → wait for the image → Release (back in service; encrypted copy started)
 * → [wait for the copy] → Publish → [StartRefresh → wait for the refresh] → [Prune] → Finish.
 *
 * Each wait is a loop of a direct SDK poll and a `.waitForTaskToken` park that stores its token in
 * the run table (no Lambda): the image or refresh event resumes it within seconds, and the park's
 * timeout is the polling backstop. The loop renews the CodePipeline job (a Lambda step) only when
 * it is due. Every error goes to Finish, which returns the instance to service, cancels (or rolls
 * back) the refresh, and reports the failure.
 */
export function amiRefreshDefinition(scope: Construct, settings: AmiRunSettings): sfn.IChainable {
  const step = (id: string, name: string, payload: { [key: string]: unknown }, resultPath: string) => new tasks.LambdaInvoke(scope, id, {
    lambdaFunction: settings.runFunction,
    payload: sfn.TaskInput.fromObject({ step: name, runId: sfn.JsonPath.stringAt('$.runId'), config: settings.config, ...payload }),
    payloadResponseOnly: true,
    resultPath,
  });
  const finish = new tasks.LambdaInvoke(scope, 'Finish', {
    lambdaFunction: settings.runFunction,
    payload: sfn.TaskInput.fromObject({ step: 'finish', config: settings.config, run: sfn.JsonPath.entirePayload }),
    payloadResponseOnly: true,
  });
  // The result counts only once CodePipeline took it; past these retries the FAILED event reports it.
  finish.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(2), maxAttempts: 5, backoffRate: 2 });
  const toFinish = (state: sfn.TaskStateBase) => state.addCatch(finish, { errors: ['States.ALL'], resultPath: '$.error' });
  // A step's StageError is final (the message says why); anything else (throttling, no answer) is tried again.
  const retrying = <T extends sfn.TaskStateBase>(task: T): T => {
    task.addRetry({ errors: ['StageError'], maxAttempts: 0 });
    task.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(2), maxAttempts: 4, backoffRate: 2 });
    return toFinish(task) as T;
  };

  const prepare = retrying(step('Prepare', 'prepare', {
    pipelineExecutionId: sfn.JsonPath.stringAt('$.pipelineExecutionId'),
    commitId: sfn.JsonPath.stringAt('$.commitId'),
  }, '$.bake'));
  const createImage = step('CreateImage', 'image', { bake: sfn.JsonPath.objectAt('$.bake') }, '$.image');
  // The instance is still entering Standby (lifecycle hooks may hold it there for a while).
  createImage.addRetry({ errors: ['InstanceNotReady'], interval: Duration.seconds(10), maxAttempts: 30, backoffRate: 1 });
  retrying(createImage);

  const renew = (id: string, next: sfn.IChainable) => retrying(step(id, 'renew', {}, '$.renewAt')).next(next);

  const timedOut = (id: string, error: string) => new sfn.Pass(scope, id, {
    parameters: { Error: error, Cause: 'the wait passed its limit' },
    resultPath: '$.error',
  }).next(finish);

  const imageWait = (prefix: string, imageIdPath: string, deadlinePath: string, next: sfn.IChainable) => {
    const poll = toFinish(new tasks.CallAwsService(scope, `${prefix}Poll`, {
      service: 'ec2',
      action: 'describeImages',
      parameters: { ImageIds: sfn.JsonPath.array(sfn.JsonPath.stringAt(imageIdPath)) },
      iamResources: ['*'],
      iamAction: 'ec2:DescribeImages',
      resultSelector: { 'detail.$': '$.Images[0]', 'now.$': '$$.State.EnteredTime' },
      resultPath: '$.imageStatus',
    }));
    poll.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(5), maxAttempts: 4, backoffRate: 2 });
    const park = parkUntilEvent(scope, `${prefix}Park`, settings,
      sfn.JsonPath.format('image#{}', sfn.JsonPath.stringAt(imageIdPath)), poll, finish);
    const failed = new sfn.Pass(scope, `${prefix}Failed`, {
      parameters: { Error: 'ImageFailed', Cause: sfn.JsonPath.stringAt('$.imageStatus.detail.ImageId') },
      resultPath: '$.error',
    }).next(finish);
    poll.next(new sfn.Choice(scope, `${prefix}State`)
      .when(sfn.Condition.stringEquals('$.imageStatus.detail.State', 'available'), next)
      .when(sfn.Condition.or(...IMAGE_FAILED.map(s => sfn.Condition.stringEquals('$.imageStatus.detail.State', s))), failed)
      .when(sfn.Condition.timestampGreaterThanEqualsJsonPath('$.imageStatus.now', deadlinePath), timedOut(`${prefix}TimedOut`, 'ImageTimeout'))
      .when(sfn.Condition.timestampGreaterThanEqualsJsonPath('$.imageStatus.now', '$.renewAt'), renew(`${prefix}RenewJob`, park))
      .otherwise(park));
    return poll;
  };

  let tail: sfn.IChainable = finish;
  if (settings.prune) {
    // Pruning never fails a release that succeeded: even a failed step only goes into the summary.
    const prune = step('Prune', 'prune', { published: sfn.JsonPath.objectAt('$.published') }, '$.pruned');
    prune.addCatch(finish, { errors: ['States.ALL'], resultPath: '$.pruneError' });
    tail = prune.next(finish);
  }
  if (settings.refresh) {
    const startRefresh = retrying(step('StartRefresh', 'refresh', {
      bake: sfn.JsonPath.objectAt('$.bake'), published: sfn.JsonPath.objectAt('$.published'),
    }, '$.refresh'));
    const poll = toFinish(new tasks.CallAwsService(scope, 'RefreshPoll', {
      service: 'autoscaling',
      action: 'describeInstanceRefreshes',
      parameters: { AutoScalingGroupName: settings.groupName, InstanceRefreshIds: sfn.JsonPath.array(sfn.JsonPath.stringAt('$.refresh.refreshId')) },
      iamResources: ['*'],
      iamAction: 'autoscaling:DescribeInstanceRefreshes',
      resultSelector: { 'detail.$': '$.InstanceRefreshes[0]', 'now.$': '$$.State.EnteredTime' },
      resultPath: '$.refreshStatus',
    }));
    poll.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(5), maxAttempts: 4, backoffRate: 2 });
    const park = parkUntilEvent(scope, 'RefreshPark', settings, sfn.JsonPath.format('refresh#{}', sfn.JsonPath.stringAt('$.refresh.refreshId')), poll, finish);
    const failed = new sfn.Pass(scope, 'RefreshFailed', {
      parameters: { Error: 'InstanceRefreshFailed', Cause: sfn.JsonPath.stringAt('$.refresh.refreshId') },
      resultPath: '$.error',
    }).next(finish);
    poll.next(new sfn.Choice(scope, 'RefreshState')
      .when(sfn.Condition.stringEquals('$.refreshStatus.detail.Status', 'Successful'), tail)
      .when(sfn.Condition.or(...REFRESH_FAILED.map(s => sfn.Condition.stringEquals('$.refreshStatus.detail.Status', s))), failed)
      .when(sfn.Condition.timestampGreaterThanEqualsJsonPath('$.refreshStatus.now', '$.refresh.deadline'), timedOut('RefreshTimedOut', 'RefreshTimeout'))
      .when(sfn.Condition.timestampGreaterThanEqualsJsonPath('$.refreshStatus.now', '$.renewAt'), renew('RefreshRenewJob', park))
      .otherwise(park));
    tail = startRefresh.next(poll);
  }
  const publish = retrying(step('Publish', 'publish', {
    bake: sfn.JsonPath.objectAt('$.bake'), image: sfn.JsonPath.objectAt('$.image'), release: sfn.JsonPath.objectAt('$.release'),
  }, '$.published'));
  publish.next(tail);
  const release = retrying(step('Release', 'release', { bake: sfn.JsonPath.objectAt('$.bake'), image: sfn.JsonPath.objectAt('$.image') }, '$.release'));
  release.next(settings.copy ? imageWait('Copy', '$.release.imageId', '$.release.deadline', publish) : publish);
  return prepare.next(createImage).next(imageWait('Image', '$.image.imageId', '$.image.deadline', release));
}

/**
 * A `.waitForTaskToken` DynamoDB PutItem: stores the token under `key` for the event function,
 * which sends it back when the image's or refresh's event arrives. Its timeout is the backstop:
 * either way the loop polls next.
 */
function parkUntilEvent(
  scope: Construct, id: string, settings: AmiRunSettings, key: string, poll: sfn.IChainable, finish: sfn.IChainable,
): sfn.IChainable {
  const park = new tasks.CallAwsService(scope, id, {
    service: 'dynamodb',
    action: 'putItem',
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    parameters: {
      TableName: settings.table.tableName,
      Item: {
        pk: { S: key },
        runId: { S: sfn.JsonPath.stringAt('$.runId') },
        taskToken: { S: sfn.JsonPath.taskToken },
        expiresAt: { N: sfn.JsonPath.stringAt('$.expiresAt') },
      },
    },
    iamResources: [settings.table.tableArn],
    iamAction: 'dynamodb:PutItem',
    taskTimeout: sfn.Timeout.duration(settings.backstopInterval),
    resultPath: sfn.JsonPath.DISCARD,
  });
  // The timeout (the backstop) polls at once; a refused or unanswered PutItem is tried again first.
  park.addRetry({ errors: ['States.Timeout'], maxAttempts: 0 });
  park.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2 });
  park.addCatch(poll, { errors: ['States.Timeout'], resultPath: sfn.JsonPath.DISCARD });
  park.addCatch(finish, { errors: ['States.ALL'], resultPath: '$.error' });
  return park.next(poll);
}
