import { Outcome } from './config';
import { ActionDetail, Notification, Revision } from './notification';

const EMOJI: Record<Outcome, string> = {
  SUCCEEDED: ':white_check_mark:',
  FAILED: ':x:',
  CANCELLED: ':black_square_for_stop:',
  APPROVAL: ':raised_hand:',
};
const MAX_REVISIONS = 5;
const MAX_SECTION_TEXT = 3000;
const MAX_FIELD_TEXT = 2000;

/** A Slack incoming-webhook payload: Block Kit blocks and the plain text shown in notifications. */
export interface SlackMessage {
  readonly text: string;
  readonly blocks: Array<Record<string, unknown>>;
}

/** The Block Kit message of a notification, laid out to read on a phone. */
export function buildMessage(n: Notification): SlackMessage {
  const blocks: Array<Record<string, unknown>> = [
    { type: 'header', text: { type: 'plain_text', text: truncate(`${EMOJI[n.outcome]} ${n.status} · ${n.pipelineName}`, 150), emoji: true } },
    section(`*<${consoleUrl(n)}|${linkText(n.pipelineName)}>*  (open in the CodePipeline console)`),
    { type: 'section', fields: fields(n) },
  ];
  if (n.failure) blocks.push(section(actionText('Failed in', n.failure, 'View logs')));
  if (n.approval) blocks.push(section(actionText('Waiting for approval', n.approval, 'Review')));
  if (n.revisions.length) blocks.push(section(revisionsText(n.revisions)));
  if (n.text) blocks.push(section(escape(n.text)));
  const footer = [n.executionId ? `Execution ${escape(n.executionId)}` : 'Execution unknown'];
  if (n.missing.length) footer.push(`Could not read ${n.missing.map(escape).join(', ')} from CodePipeline`);
  if (n.authorsUnread) footer.push('Could not read commit authors from CodeCommit');
  blocks.push({ type: 'context', elements: footer.map(text => ({ type: 'mrkdwn', text })) });
  return { text: truncate(`${n.status}: ${n.pipelineName}${n.failure ? ` (${n.failure.stage} › ${n.failure.action})` : ''}`, 300), blocks };
}

function fields(n: Notification): Array<Record<string, unknown>> {
  const items: Array<[string, string]> = [['Status', `*${escape(n.status)}*`]];
  if (n.trigger) items.push(['Trigger', escape(n.trigger)]);
  if (n.startTime) items.push(['Started', slackDate(n.startTime)]);
  if (n.startTime && n.endTime && n.endTime >= n.startTime) items.push(['Duration', formatDuration(n.endTime.getTime() - n.startTime.getTime())]);
  items.push(['Account', escape(n.account ?? 'unknown')], ['Region', escape(n.region)]);
  return items.map(([label, value]) => ({ type: 'mrkdwn', text: truncate(`*${label}*\n${value}`, MAX_FIELD_TEXT) }));
}

function actionText(label: string, detail: ActionDetail, linkLabel: string): string {
  const lines = [`*${label}:* ${escape(detail.stage)} › ${escape(detail.action)}`];
  if (detail.summary) lines.push(`> ${escape(truncate(detail.summary, 1500)).replace(/\n/g, '\n> ')}`);
  if (detail.url && isWebUrl(detail.url)) lines.push(`<${detail.url}|${linkLabel}>`);
  return lines.join('\n');
}

function revisionsText(revisions: readonly Revision[]): string {
  const lines = revisions.slice(0, MAX_REVISIONS).map(r => {
    const id = shortRevision(r.revisionId);
    const idText = r.url && isWebUrl(r.url) ? `<${r.url}|\`${linkText(id)}\`>` : `\`${escape(id)}\``;
    const message = r.summary ? ` ${escape(truncate(r.summary.split('\n')[0], 150))}` : '';
    const author = r.author ? ` · by ${escape(r.author)}` : '';
    const artifact = r.artifact && revisions.length > 1 ? ` _(${escape(r.artifact)})_` : '';
    return `• ${idText}${message}${author}${artifact}`;
  });
  if (revisions.length > MAX_REVISIONS) lines.push(`…and ${revisions.length - MAX_REVISIONS} more`);
  return `*Source*\n${lines.join('\n')}`;
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
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, MAX_SECTION_TEXT) } };
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
  return /^https:\/\/[^\s<>|]+$/.test(url);
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
