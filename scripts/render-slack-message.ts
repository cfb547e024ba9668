/*
 * Renders sample SlackNotifyStage messages (the Block Kit payloads the handler builds) to HTML in
 * Slack's layout and screenshots them with headless Chromium, for the README:
 *   npx ts-node scripts/render-slack-message.ts docs/slack-notify-message.png
 * Needs `chromium` on the PATH (Debian: apt-get install -y chromium).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildMessage, SlackMessage } from '../lambda-src/slack-notify/message';
import { Notification } from '../lambda-src/slack-notify/notification';

const COMMIT = '4f9d2c1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e';
const EXECUTION = '8a6b2f44-1c3e-4c2f-9c1d-2b7e5f0a9d31';

const common = {
  pipelineName: 'shop-release',
  executionId: EXECUTION,
  account: '111111111111',
  region: 'eu-west-1',
  trigger: 'Webhook (acme/shop main)',
  revisions: [{ artifact: 'Source', revisionId: COMMIT, summary: 'Fix rounding in the checkout total', url: `https://github.com/acme/shop/commit/${COMMIT}` }],
  startTime: new Date('2025-03-04T10:00:00Z'),
  missing: [],
};

const samples: Notification[] = [
  {
    ...common,
    outcome: 'FAILED',
    status: 'FAILED',
    endTime: new Date('2025-03-04T10:12:30Z'),
    failure: {
      stage: 'Build',
      action: 'UnitTests',
      summary: 'Tests failed: 3 of 412 (CheckoutSpec)',
      url: 'https://eu-west-1.console.aws.amazon.com/codesuite/codebuild/projects/shop-tests/build/1234/log',
    },
  },
  {
    ...common,
    outcome: 'SUCCEEDED',
    status: 'REACHED Production',
    endTime: new Date('2025-03-04T10:31:05Z'),
    text: 'Released 4f9d2c1 to production: https://shop.example.com',
  },
];

const BADGES: Record<string, string> = {
  ':x:': '<span class="badge red">✕</span>',
  ':white_check_mark:': '<span class="badge green">✓</span>',
  ':black_square_for_stop:': '<span class="badge grey">■</span>',
  ':raised_hand:': '<span class="badge amber">!</span>',
};

function html(text: string): string {
  return text.replace(/&(?!(amp|lt|gt);)/g, '&amp;').replace(/"/g, '&quot;');
}

/** Slack mrkdwn to HTML: links, date tokens, *bold*, _italic_, `code`, > quotes, line breaks. */
function mrkdwn(text: string): string {
  const lines = html(text).split('\n').map(line => line.startsWith('> ') ? `<span class="quote">${line.slice(2)}</span>` : line);
  return lines.join('\n')
    .replace(/<!date\^(\d+)\^[^|]+\|[^>]+>/g, (_, epoch) => formatDate(new Date(Number(epoch) * 1000)))
    .replace(/<(https:[^|>]+)\|([^>]+)>/g, '<a href="$1">$2</a>')
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/(^|[\s(>])\*([^*\n]+)\*/g, '$1<b>$2</b>')
    .replace(/(^|[\s(>])_([^_\n]+)_/g, '$1<i>$2</i>')
    .replace(/\n/g, '<br>');
}

/** How Slack shows a date token to a reader in UTC. */
function formatDate(date: Date): string {
  return `${date.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' })} at ${date.toISOString().slice(11, 16)}`;
}

function renderBlock(block: any): string {
  switch (block.type) {
    case 'header': {
      let text = html(block.text.text);
      for (const [code, badge] of Object.entries(BADGES)) text = text.replace(code, badge);
      return `<div class="header">${text}</div>`;
    }
    case 'section':
      return block.fields
        ? `<div class="fields">${block.fields.map((f: any) => `<div>${mrkdwn(f.text)}</div>`).join('')}</div>`
        : `<div class="section">${mrkdwn(block.text.text)}</div>`;
    case 'context':
      return `<div class="context">${block.elements.map((e: any) => mrkdwn(e.text)).join(' · ')}</div>`;
    default:
      throw new Error(`no renderer for block type ${block.type}`);
  }
}

function renderMessage(message: SlackMessage): string {
  return `<div class="message"><div class="avatar">CP</div><div class="body">
    <div class="sender">Pipeline status <span class="app">APP</span> <span class="time">10:12</span></div>
    ${message.blocks.map(renderBlock).join('\n')}
  </div></div>`;
}

const page = `<!doctype html><html><head><meta charset="utf-8"><style>
  body { margin: 0; background: #fff; font: 15px/1.46 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1d1c1d; width: 460px; }
  .message { display: flex; gap: 10px; padding: 14px 16px; border-bottom: 1px solid #e8e8e8; }
  .avatar { flex: none; width: 36px; height: 36px; border-radius: 6px; background: #4a154b; color: #fff; font-weight: bold; display: flex; align-items: center; justify-content: center; font-size: 13px; }
  .body { flex: 1; min-width: 0; }
  .sender { font-weight: bold; } .app { font-size: 10px; background: #e8e8e8; color: #616061; padding: 1px 3px; border-radius: 2px; font-weight: normal; }
  .time { color: #616061; font-weight: normal; font-size: 12px; }
  .header { font-size: 18px; font-weight: bold; margin: 6px 0 4px; }
  .section { margin: 6px 0; word-wrap: break-word; }
  .fields { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; margin: 8px 0; }
  .context { color: #616061; font-size: 12px; margin-top: 6px; }
  a { color: #1264a3; text-decoration: none; }
  code { font: 12px "DejaVu Sans Mono", monospace; color: #e01e5a; background: #f6f6f6; border: 1px solid #e8e8e8; border-radius: 3px; padding: 1px 3px; }
  .quote { display: inline-block; border-left: 4px solid #ddd; padding-left: 10px; }
  .badge { display: inline-block; width: 20px; height: 20px; border-radius: 4px; color: #fff; font-size: 14px; text-align: center; line-height: 20px; margin-right: 4px; vertical-align: 2px; }
  .red { background: #e01e5a; } .green { background: #2eb67d; } .grey { background: #616061; } .amber { background: #ecb22e; }
</style></head><body>${samples.map(n => renderMessage(buildMessage(n))).join('\n')}</body></html>`;

const output = path.resolve(process.argv[2] ?? 'docs/slack-notify-message.png');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slack-render-'));
try {
  const file = path.join(dir, 'message.html');
  fs.writeFileSync(file, page);
  execFileSync('chromium', [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', `--user-data-dir=${path.join(dir, 'profile')}`, '--hide-scrollbars',
    '--window-size=460,900', `--screenshot=${output}`, `file://${file}`,
  ], { stdio: 'pipe' });
  console.log(`wrote ${path.relative(process.cwd(), output)}`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
