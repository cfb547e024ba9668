import { Duration, Token } from 'aws-cdk-lib';
import { MAX_BACKSTOP_INTERVAL, RENEWAL_SLACK, renewalAge } from '../../../src/core/private/long-running-job';
import { PIPELINE_LAMBDA_REPLY_LIMIT_MS } from '../../../src/core/private/quotas';

// CodePipeline quotas ("Quotas in AWS CodePipeline"): a Lambda invoke action that sends no reply
// within 20 minutes times out; a continuation token restarts the 20 minutes.
describe('the renewal age of a run\'s job', () => {
  test('for every accepted backstop interval, a job just short of the age at one poll is renewed at the next within 20 minutes', () => {
    for (let seconds = 1; seconds <= MAX_BACKSTOP_INTERVAL.toSeconds(); seconds++) {
      const age = renewalAge(Duration.seconds(seconds)).toSeconds();
      expect(age).toBeGreaterThan(0);
      expect(age + seconds + RENEWAL_SLACK.toSeconds()).toBeLessThanOrEqual(PIPELINE_LAMBDA_REPLY_LIMIT_MS / 1000);
    }
  });

  test('nine minutes for short intervals, less for long ones; a token interval counts as the longest', () => {
    expect(renewalAge(Duration.minutes(5)).toMinutes()).toBe(9);
    expect(renewalAge(Duration.minutes(10)).toMinutes()).toBe(5);
    expect(renewalAge(Duration.seconds(Token.asNumber({ Ref: 'Backstop' }))).toMinutes()).toBe(5);
  });
});
