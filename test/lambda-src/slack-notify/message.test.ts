import { allText, blockKitProblems } from './block-kit';
import { logStreamUrl } from '../../../lambda-src/slack-notify/execution-details';
import { buildMessage, consoleUrl, formatDuration, shortRevision } from '../../../lambda-src/slack-notify/message';
import { Notification } from '../../../lambda-src/slack-notify/notification';

const base: Notification = { outcome: 'FAILED', status: 'FAILED', pipelineName: 'release', region: 'eu-west-1', revisions: [], missing: [] };

test.each([
  ['4f9d2c1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e', '4f9d2c1'],
  ['sha256:0123456789abcdef0123', '0123456789ab'],
  ['Xk8dT3_versionid', 'Xk8dT3_versi'],
  ['v1.2', 'v1.2'],
  [undefined, 'unknown'],
])('short revision of %p is %p', (id, short) => {
  expect(shortRevision(id)).toBe(short);
});

test.each([[0, '0s'], [59_400, '59s'], [61_000, '1m 01s'], [3_725_000, '1h 02m']])('duration %p ms reads %p', (ms, text) => {
  expect(formatDuration(ms)).toBe(text);
});

test('the console link without an execution is the pipeline page; names are encoded', () => {
  expect(consoleUrl({ pipelineName: 'my pipe', region: 'us-east-1' }))
    .toBe('https://us-east-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/my%20pipe/view?region=us-east-1');
});

test('a log stream ARN becomes a CloudWatch console link', () => {
  expect(logStreamUrl('arn:aws:logs:eu-west-1:111111111111:log-group:/aws/lambda/fn:log-stream:2025/03/04/[$LATEST]abc'))
    .toBe('https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Faws$252Flambda$252Ffn/log-events/2025$252F03$252F04$252F$255B$2524LATEST$255Dabc');
  expect(logStreamUrl('not an arn')).toBeUndefined();
});

test('long and hostile values stay within Block Kit limits, links stay well-formed', () => {
  const message = buildMessage({
    ...base,
    pipelineName: `p|>${'x'.repeat(200)}`,
    failure: { stage: 'Build', action: 'Test', summary: `<!channel> ${'e'.repeat(5000)}`, url: 'javascript:alert(1)' },
    revisions: Array.from({ length: 7 }, (_, i) => ({ revisionId: `${i}`.repeat(40), summary: 'm'.repeat(400), url: `https://git.example.com/${i}`, artifact: `A${i}` })),
    text: 't'.repeat(4000),
    missing: ['trigger and source revisions'],
  });
  expect(blockKitProblems(message)).toEqual([]);
  const text = allText(message);
  expect(text).toContain('…and 2 more');
  expect(text).toContain('&lt;!channel&gt;');
  expect(text).not.toContain('javascript:');
  expect(text).toContain('_(A0)_');
});
