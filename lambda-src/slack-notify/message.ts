import { Outcome } from './config';
import { ActionDetail, Notification, Revision } from './notification';

const EMOJI: Record<Outcome, string> = {
  SUCCEEDED: ':white_check_mark:',
  FAILED: ':x:',
  CANCELLED: ':black_square_for_stop:',
  APPROVAL: ':raised_hand:',
};
const MAX_REVISIONS = 5;
/*
 * Block Kit's limits: a header's text 150 characters, a section's text 3000, a section field 2000,
 * at most 50 blocks. Every value CodePipeline, CodeCommit or the user controls is clipped before it
 * is escaped and laid out, and every text is clipped again at its limit without cutting a link or
 * an entity, so no message is ever refused for its size.
 */
const MAX_HEADER_TEXT = 150;
const MAX_SECTION_TEXT = 3000;
const MAX_FIELD_TEXT = 2000;
const MAX_CONTEXT_TEXT = 500;
const MAX_BLOCKS = 50;
/** The notification text Slack shows in alerts (its limit is far higher; alerts show less). */
const MAX_MESSAGE_TEXT = 300;
/** Names and ids (CodePipeline's own are at most 100 characters). */
const MAX_NAME = 100;
/** A link longer than this is left out: no real console or commit link is that long. */
const MAX_URL = 1000;

/** A Slack incoming-webhook payload: Block Kit blocks and the plain text shown in notifications. */
export interface SlackMessage {
  readonly text: string;
  readonly blocks: Array<Record<string, unknown>>;
}

/** The Block Kit message of a notification, laid out to read on a phone. */
export function buildMessage(n: Notification): SlackMessage {
  const pipelineName = clip(n.pipelineName, MAX_NAME);
  const status = clip(n.status, MAX_NAME);
  const link = consoleLink(n);
  const blocks: Array<Record<string, unknown>> = [
    { type: 'header', text: { type: 'plain_text', text: clip(`${EMOJI[n.outcome]} ${status} · ${pipelineName}`, MAX_HEADER_TEXT), emoji: true } },
    section(link ? `*<${link}|${linkText(pipelineName)}>*  (open in the CodePipeline console)` : `*${escape(pipelineName)}*`),
    { type: 'section', fields: fields(n) },
  ];
  if (n.failure) blocks.push(section(actionText('Failed in', n.failure, 'View logs')));
  if (n.approval) blocks.push(section(actionText('Waiting for approval', n.approval, 'Review')));
  if (n.revisions.length) blocks.push(section(revisionsText(n.revisions)));
  if (n.text) blocks.push(section(escape(clip(n.text, MAX_SECTION_TEXT))));
  const footer = [n.executionId ? `Execution ${escape(clip(n.executionId, MAX_NAME))}` : 'Execution unknown'];
  if (n.missing.length) footer.push(`Could not read ${n.missing.map(escape).join(', ')} from CodePipeline`);
  if (n.authorsUnread) footer.push('Could not read commit authors from CodeCommit');
  blocks.push({ type: 'context', elements: footer.map(text => ({ type: 'mrkdwn', text: clipMrkdwn(text, MAX_CONTEXT_TEXT) })) });
  const where = n.failure ? ` (${clip(n.failure.stage, MAX_NAME)} › ${clip(n.failure.action, MAX_NAME)})` : '';
  return { text: clipMrkdwn(escape(`${status}: ${pipelineName}${where}`), MAX_MESSAGE_TEXT), blocks: blocks.slice(0, MAX_BLOCKS) };
}

/** The execution's console page; without a link when a name or id is longer than CodePipeline allows (the page would not exist). */
function consoleLink(n: Notification): string | undefined {
  if (n.pipelineName.length > MAX_NAME || n.region.length > MAX_NAME) return undefined;
  const executionId = n.executionId && n.executionId.length <= MAX_NAME ? n.executionId : undefined;
  return consoleUrl({ pipelineName: n.pipelineName, executionId, region: n.region });
}

function fields(n: Notification): Array<Record<string, unknown>> {
  const items: Array<[string, string]> = [['Status', `*${escape(clip(n.status, MAX_NAME))}*`]];
  if (n.trigger) items.push(['Trigger', escape(clip(n.trigger, MAX_NAME * 2))]);
  if (n.startTime) items.push(['Started', slackDate(n.startTime)]);
  if (n.startTime && n.endTime && n.endTime >= n.startTime) items.push(['Duration', formatDuration(n.endTime.getTime() - n.startTime.getTime())]);
  items.push(['Account', escape(clip(n.account ?? 'unknown', MAX_NAME))], ['Region', escape(clip(n.region, MAX_NAME))]);
  return items.map(([label, value]) => ({ type: 'mrkdwn', text: clipMrkdwn(`*${label}*\n${value}`, MAX_FIELD_TEXT) }));
}

function actionText(label: string, detail: ActionDetail, linkLabel: string): string {
  const lines = [`*${label}:* ${escape(clip(detail.stage, MAX_NAME))} › ${escape(clip(detail.action, MAX_NAME))}`];
  if (detail.summary) lines.push(`> ${escape(clip(detail.summary, 1500)).replace(/\n/g, '\n> ')}`);
  if (detail.url && isWebUrl(detail.url)) lines.push(`<${detail.url}|${linkLabel}>`);
  return lines.join('\n');
}

/** The source revisions, as many as fit in a section (at most 5), then how many more there are. */
function revisionsText(revisions: readonly Revision[]): string {
  const lines = ['*Source*'];
  let shown = 0;
  for (const r of revisions.slice(0, MAX_REVISIONS)) {
    const line = revisionLine(r, revisions.length > 1);
    if ([...lines, line].join('\n').length > MAX_SECTION_TEXT - 50) break;
    lines.push(line);
    shown++;
  }
  if (revisions.length > shown) lines.push(`…and ${revisions.length - shown} more`);
  return lines.join('\n');
}

function revisionLine(r: Revision, showArtifact: boolean): string {
  const id = shortRevision(r.revisionId);
  const idText = r.url && isWebUrl(r.url) ? `<${r.url}|\`${linkText(id)}\`>` : `\`${escape(id)}\``;
  const message = r.summary ? ` ${escape(clip(r.summary.split('\n')[0], 150))}` : '';
  const author = r.author ? ` · by ${escape(clip(r.author, MAX_NAME))}` : '';
  const artifact = r.artifact && showArtifact ? ` _(${escape(clip(r.artifact, MAX_NAME))})_` : '';
  return `• ${idText}${message}${author}${artifact}`;
}

/** A git commit id reads as its first 7 characters; other revisions (S3 versions, digests) as 12. */
export function shortRevision(id: string | undefined): string {
  if (!id) return 'unknown';
  if (/^[0-9a-f]{40}$/i.test(id)) return id.slice(0, 7);
  const digest = id.replace(/^sha256:/, '');
  return digest.length > 12 ? digest.slice(0, 12) : digest;
}

/** The execution's page in the CodePipeline console (the pipeline's page when the execution is unknown). */
export function consoleUrl(n: { pipelineName: string; executionId?: string; region: string }): string {
  const base = `https://${n.region}.console.aws.amazon.com/codesuite/codepipeline/pipelines/${encodeURIComponent(n.pipelineName)}`;
  return n.executionId
    ? `${base}/executions/${encodeURIComponent(n.executionId)}/timeline?region=${n.region}`
    : `${base}/view?region=${n.region}`;
}

/** Slack shows a date token in the reader's own time zone; the fallback is UTC. */
function slackDate(date: Date): string {
  const fallback = `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${Math.floor(date.getTime() / 1000)}^{date_short_pretty} {time}|${fallback}>`;
}

export function formatDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

function section(text: string): Record<string, unknown> {
  return { type: 'section', text: { type: 'mrkdwn', text: clipMrkdwn(text, MAX_SECTION_TEXT) } };
}

/** Slack's mrkdwn control characters. */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Link text must not contain `|` or `>`, which end it. */
function linkText(text: string): string {
  return escape(text).replace(/\|/g, '¦');
}

function isWebUrl(url: string): boolean {
  return url.length <= MAX_URL && /^https:\/\/[^\s<>|]+$/.test(url);
}

/** At most `max` characters: longer text ends with `…`, never in the middle of a surrogate pair. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${cutAt(text, max - 1)}…` : text;
}

/** `clip` for mrkdwn: the cut never falls inside a link (`<...>`) or an entity (`&amp;`). */
export function clipMrkdwn(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = cutAt(text, max - 1);
  const open = cut.lastIndexOf('<');
  if (open > cut.lastIndexOf('>')) cut = cut.slice(0, open);
  const amp = cut.lastIndexOf('&');
  if (amp !== -1 && !cut.includes(';', amp)) cut = cut.slice(0, amp);
  return `${cut}…`;
}

function cutAt(text: string, length: number): string {
  const code = text.charCodeAt(length - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? length - 1 : length);
}
