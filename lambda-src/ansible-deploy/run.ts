import * as fs from 'fs';
import { ansibleEnv, playbookArgs, runProcess } from './ansible';
import { RunContext, workPaths } from './config';
import { writeUnreachableReport } from './junit';
import { acquireLock, HeldLock } from './lock';
import { failureReason, HostRecap, parseRecap, RECAP_FIELDS, totals } from './recap';
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
  const variables: Record<string, string> = {
    ...Object.fromEntries(RECAP_FIELDS.map(f => [`ANSIBLE_${f.toUpperCase()}`, String(sum[f])])),
    ANSIBLE_HOSTS: hosts.join(','),
    ANSIBLE_FAILED_HOSTS: failedHosts.join(','),
    ANSIBLE_UNREACHABLE_HOSTS: unreachableHosts.join(','),
    ANSIBLE_EXIT_CODE: String(exitCode),
    ANSIBLE_MODE: ctx.mode,
    ANSIBLE_SUMMARY: summary.length > SUMMARY_LIMIT ? `${summary.slice(0, SUMMARY_LIMIT - 1)}…` : summary,
  };
  // One NAME=value line each; the buildspec exports them with `read -r`, so a value is never evaluated.
  fs.writeFileSync(paths.exports, Object.entries(variables).map(([k, v]) => `${k}=${v.replace(/[\r\n]+/g, ' ')}\n`).join(''));
  log(`recap: ${RECAP_FIELDS.map(f => `${f}=${sum[f]}`).join(' ')}`);
  if (reason) log(`FAILED: ${reason}`);
  return exitCode;
}
