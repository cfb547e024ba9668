import { allText, blockKitProblems } from './block-kit';
import { logStreamUrl } from '../../../lambda-src/slack-notify/execution-details';
import { buildMessage, clip, clipMrkdwn, consoleUrl, formatDuration, shortRevision } from '../../../lambda-src/slack-notify/message';
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

test('10,000-character values in every field stay within every Block Kit limit', () => {
  const huge = (c: string) => c.repeat(10_000);
  const message = buildMessage({
    outcome: 'APPROVAL',
    status: huge('S'),
    pipelineName: huge('p'),
    executionId: huge('e'),
    account: huge('1'),
    region: huge('r'),
    trigger: huge('t'),
    startTime: new Date('2025-03-04T10:00:00Z'),
    endTime: new Date('2025-03-04T10:10:00Z'),
    revisions: Array.from({ length: 6 }, () => ({
      artifact: huge('a'), revisionId: huge('i'), summary: huge('&'), url: `https://x.example/${huge('u')}`, author: huge('<'), codeCommitRepository: huge('c'),
    })),
    failure: { stage: huge('s'), action: huge('a'), summary: huge('>'), url: `https://x.example/${huge('l')}` },
    approval: { stage: huge('s'), action: huge('a'), summary: huge('|'), url: 'https://x.example/review' },
    text: huge('&'),
    missing: ['trigger and source revisions'],
    authorsUnread: true,
  });
  expect(blockKitProblems(message)).toEqual([]);
  expect(message.text.length).toBeLessThanOrEqual(300);
  expect(message.blocks.length).toBeLessThanOrEqual(50);
  const footer = message.blocks[message.blocks.length - 1] as any;
  expect(footer.elements.every((e: any) => e.text.length <= 500)).toBe(true);
  // The console link is left out: no real pipeline has such a name.
  expect(allText(message)).not.toContain('console.aws.amazon.com');
  expect(allText(message)).toContain('<https://x.example/review|Review>');
});

test('clipping never cuts a link, an entity or a surrogate pair', () => {
  expect(clip('abcdef', 4)).toBe('abc…');
  expect(clip('ab😀cd', 4)).toBe('ab…');
  expect(clipMrkdwn(`see <https://x.example/${'u'.repeat(50)}|link> now`, 20)).toBe('see …');
  expect(clipMrkdwn('a &amp; b', 5)).toBe('a …');
  expect(clipMrkdwn('a &amp; b', 8)).toBe('a &amp;…');
  expect(clipMrkdwn('short', 10)).toBe('short');
});
