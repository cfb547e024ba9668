import * as fs from 'fs';
import { ansibleEnv, playbookArgs, runProcess } from './ansible';
import { CUT_MARKER, RunContext, workPaths } from './config';
import { writeUnreachableReport } from './junit';
import { acquireLock, HeldLock } from './lock';
import { failureReason, HostRecap, parseRecap, RECAP_FIELDS, totals } from './recap';
import { PIPELINE_OUTPUT_VARIABLES_MAX_BYTES } from '../../src/core/private/quotas';
import { InputError } from '../core/errors';

/*
 * `run` (the buildspec's build phase): takes the stage's lock, runs ansible-playbook, and turns
 * its PLAY RECAP into the exported variables, the unreachable hosts' report and the failure
 * reason. The runner exits with ansible-playbook's exit code.
 */

/** The variables the buildspec exports (`env.exported-variables`). */
export const EXPORTED_VARIABLES = [
  ...RECAP_FIELDS.map(f => `ANSIBLE_${f.toUpperCase()}`),
  'ANSIBLE_HOSTS', 'ANSIBLE_FAILED_HOSTS', 'ANSIBLE_UNREACHABLE_HOSTS', 'ANSIBLE_EXIT_CODE', 'ANSIBLE_MODE', 'ANSIBLE_SUMMARY',
];

/** CodePipeline's approval message holds 500 characters; the summary is shown in it. */
const SUMMARY_LIMIT = 400;

export async function run(ctx: RunContext, log: (line: string) => void): Promise<number> {
  const paths = workPaths(ctx.cwd);
  if (!fs.existsSync(paths.hosts)) throw new InputError('prepare has not run: the host list is missing');
  const hosts = JSON.parse(fs.readFileSync(paths.hosts, 'utf8')) as string[];
  let lock: HeldLock | undefined;
  if (ctx.config.lock) lock = await acquireLock(ctx.config.lock, ctx.env.CODEBUILD_BUILD_ID ?? `local-${process.pid}`, log);
  try {
    const args = [...playbookArgs(ctx), ...(ctx.mode === 'check' ? ['--check', '--diff'] : [])];
    if (ctx.config.verbosity) args.push(`-${'v'.repeat(ctx.config.verbosity)}`);
    log(`ansible-playbook ${ctx.mode === 'check' ? '--check --diff ' : ''}on ${hosts.length} host${hosts.length === 1 ? '' : 's'}`);
    const result = await runProcess('ansible-playbook', [...args, '--', ctx.config.playbook], { env: ansibleEnv(ctx), cwd: ctx.cwd, echo: true });
    return report(ctx, hosts, result.exitCode, parseRecap(result.output), log, hostKeyRefused(result.output));
  } finally {
    await lock?.release();
  }
}

/** OpenSSH's words when a host's key is not the one known_hosts holds (or known_hosts has none for it). */
function hostKeyRefused(output: string): boolean {
  return /Host key verification failed/.test(output);
}

function report(
  ctx: RunContext, hosts: string[], exitCode: number, recap: Map<string, HostRecap> | null, log: (line: string) => void, keyRefused: boolean,
): number {
  const paths = workPaths(ctx.cwd);
  const entries = [...(recap ?? new Map<string, HostRecap>()).entries()];
  const failedHosts = entries.filter(([, c]) => c.failed > 0).map(([h]) => h);
  const unreachableHosts = entries.filter(([, c]) => c.unreachable > 0).map(([h]) => h);
  writeUnreachableReport(paths.junit, ctx.config.playbook, unreachableHosts);
  const sum = totals(recap ?? new Map());
  const reason = failureReason(exitCode, failedHosts, unreachableHosts, keyRefused
    ? 'host key verification failed: a host presented a key that known_hosts does not hold for it, so ssh refused to connect' : undefined);

  const verb = ctx.mode === 'check' ? 'would change' : 'changed';
  const summary = `${ctx.mode === 'check' ? 'check' : 'run'} of ${ctx.config.playbook} on ${hosts.length} host${hosts.length === 1 ? '' : 's'} ` +
    `(${hosts.join(', ')}): ${sum.changed} task${sum.changed === 1 ? '' : 's'} ${verb}, ${sum.failed} failed, ${sum.unreachable} unreachable` +
    (reason ? `; ${reason}` : '');
  const variables = outputVariables({
    ...Object.fromEntries(RECAP_FIELDS.map(f => [`ANSIBLE_${f.toUpperCase()}`, String(sum[f])])),
    ANSIBLE_EXIT_CODE: String(exitCode),
    ANSIBLE_MODE: ctx.mode,
    ANSIBLE_SUMMARY: summary.length > SUMMARY_LIMIT ? `${summary.slice(0, SUMMARY_LIMIT - 1)}…` : summary,
  }, { ANSIBLE_HOSTS: hosts, ANSIBLE_FAILED_HOSTS: failedHosts, ANSIBLE_UNREACHABLE_HOSTS: unreachableHosts });
  for (const name of ['ANSIBLE_HOSTS', 'ANSIBLE_FAILED_HOSTS', 'ANSIBLE_UNREACHABLE_HOSTS']) {
    if (CUT_MARKER.test(variables[name])) log(`${name} was cut to fit CodePipeline's output variables (${PIPELINE_OUTPUT_VARIABLES_MAX_BYTES} bytes for all of them): it ends with ...(+N more)`);
  }
  // One NAME=value line each; the buildspec exports them with `read -r`, so a value is never evaluated.
  fs.writeFileSync(paths.exports, Object.entries(variables).map(([k, v]) => `${k}=${v.replace(/[\r\n]+/g, ' ')}\n`).join(''));
  log(`recap: ${RECAP_FIELDS.map(f => `${f}=${sum[f]}`).join(' ')}`);
  if (reason) log(`FAILED: ${reason}`);
  return exitCode;
}

/** Room kept for what CodePipeline may count besides the names and values (a margin). */
const VARIABLES_MARGIN_BYTES = 1024;
/** The failed and unreachable lists each keep at most this share of the room before the full host list. */
const SUBSET_SHARE = 1 / 8;

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/** The hosts joined with commas, cut to `maxBytes` with a marker that counts the hosts left out. */
export function hostList(hosts: string[], maxBytes: number): string {
  const full = hosts.join(',');
  if (bytes(full) <= maxBytes) return full;
  let kept = 0;
  let size = 0;
  for (; kept < hosts.length; kept++) {
    const next = size + (kept ? 1 : 0) + bytes(hosts[kept]);
    if (next + bytes(`,...(+${hosts.length - kept - 1} more)`) > maxBytes) break;
    size = next;
  }
  return `${hosts.slice(0, kept).join(',')}${kept ? ',' : ''}...(+${hosts.length - kept} more)`;
}

/**
 * The exported variables: all of one action's output variables together hold at most
 * PIPELINE_OUTPUT_VARIABLES_MAX_BYTES (names and values counted). The fixed ones are small; the host
 * lists share the rest, the full list first (the apply after a preview reads it).
 */
export function outputVariables(fixed: Record<string, string>, lists: Record<'ANSIBLE_HOSTS' | 'ANSIBLE_FAILED_HOSTS' | 'ANSIBLE_UNREACHABLE_HOSTS', string[]>): Record<string, string> {
  const room = PIPELINE_OUTPUT_VARIABLES_MAX_BYTES - VARIABLES_MARGIN_BYTES
    - Object.entries(fixed).reduce((n, [k, v]) => n + bytes(k) + bytes(v), 0)
    - Object.keys(lists).reduce((n, k) => n + bytes(k), 0);
  const need = (hosts: string[]) => bytes(hosts.join(','));
  const subsetCap = Math.floor(room * SUBSET_SHARE);
  const failedRoom = Math.min(need(lists.ANSIBLE_FAILED_HOSTS), subsetCap);
  const unreachableRoom = Math.min(need(lists.ANSIBLE_UNREACHABLE_HOSTS), subsetCap);
  const allHosts = hostList(lists.ANSIBLE_HOSTS, room - failedRoom - unreachableRoom);
  const left = room - bytes(allHosts);
  const failed = hostList(lists.ANSIBLE_FAILED_HOSTS, Math.max(failedRoom, left - unreachableRoom));
  const unreachable = hostList(lists.ANSIBLE_UNREACHABLE_HOSTS, left - bytes(failed));
  return { ...fixed, ANSIBLE_HOSTS: allHosts, ANSIBLE_FAILED_HOSTS: failed, ANSIBLE_UNREACHABLE_HOSTS: unreachable };
}
