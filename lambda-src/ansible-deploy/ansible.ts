import { spawn } from 'child_process';
import { RunContext, workPaths } from './config';

/*
 * The ansible-playbook command line and environment, built as an argument array: values are
 * arguments of the spawned process, never parsed by a shell.
 */

/** The arguments shared by the host listing and the run. */
export function playbookArgs(ctx: RunContext): string[] {
  const { config } = ctx;
  const paths = workPaths(ctx.cwd);
  const args = ['-i', 'file' in config.inventory ? config.inventory.file : paths.ec2Inventory];
  if (ctx.previewHosts) args.push('--limit', `@${paths.previewHosts}`);
  else if (config.limit) args.push('--limit', config.limit);
  if (config.tags.length) args.push('--tags', config.tags.join(','));
  if (config.skipTags.length) args.push('--skip-tags', config.skipTags.join(','));
  if (config.forks) args.push('--forks', String(config.forks));
  args.push('--extra-vars', `@${paths.extraVars}`);
  if ('ssm' in config.transport) args.push('--extra-vars', `@${paths.connectionVars}`);
  if ('ssh' in config.transport) args.push('--private-key', paths.privateKey, '--user', config.transport.ssh.user);
  return args;
}

/** The environment of ansible-playbook: the build's, without the stage's secrets and config, with the stage's settings. */
export function ansibleEnv(ctx: RunContext): NodeJS.ProcessEnv {
  const paths = workPaths(ctx.cwd);
  const env: NodeJS.ProcessEnv = { ...ctx.env };
  for (const name of ['ANSIBLE_SSH_PRIVATE_KEY', 'ANSIBLE_KNOWN_HOSTS', 'ANSIBLE_STAGE_CONFIG']) delete env[name];
  Object.assign(env, {
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    ANSIBLE_RETRY_FILES_ENABLED: '0',
    ANSIBLE_CALLBACKS_ENABLED: 'junit',
    JUNIT_OUTPUT_DIR: paths.junit,
    JUNIT_HIDE_TASK_ARGUMENTS: 'true',
    JUNIT_TASK_RELATIVE_PATH: ctx.cwd,
    JUNIT_FAIL_ON_CHANGE: 'false',
    // An inventory source that cannot be read (e.g. EC2 not reachable) is an error, not an empty inventory.
    ANSIBLE_INVENTORY_UNPARSED_FAILED: 'True',
    ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED: 'True',
  });
  const ssh = 'ssh' in ctx.config.transport ? ctx.config.transport.ssh : undefined;
  if (ssh) {
    const acceptAny = 'acceptAny' in ssh.knownHosts;
    const knownHosts = 'file' in ssh.knownHosts ? ssh.knownHosts.file : paths.knownHosts;
    env.ANSIBLE_REMOTE_PORT = String(ssh.port);
    env.ANSIBLE_HOST_KEY_CHECKING = acceptAny ? 'False' : 'True';
    // ansible splits this with shlex: the known_hosts path is quoted for it.
    env.ANSIBLE_SSH_ARGS = ['-o ControlMaster=auto', '-o ControlPersist=60s', '-o IdentitiesOnly=yes',
      acceptAny ? '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null' : `-o StrictHostKeyChecking=yes -o ${shlexQuote(`UserKnownHostsFile=${knownHosts}`)}`].join(' ');
  }
  return env;
}

function shlexQuote(text: string): string {
  return `'${text.replace(/'/g, '\'"\'"\'')}'`;
}

export interface ProcessResult {
  readonly exitCode: number;
  /** What it printed (stdout and stderr, interleaved), the last `keep` bytes at most. */
  readonly output: string;
}

/**
 * Runs a program, echoing its output to the build log when `echo` is set, and keeps the tail of
 * its output. A SIGTERM to the runner (a stopped build) is passed on to it.
 */
export function runProcess(
  command: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd: string; echo: boolean; keep?: number },
): Promise<ProcessResult> {
  const keep = options.keep ?? 4 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      if (options.echo) process.stdout.write(chunk);
      output += chunk.toString('utf8');
      if (output.length > keep) output = output.slice(output.length - keep);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const stop = () => child.kill('SIGTERM');
    process.on('SIGTERM', stop);
    child.on('error', err => {
      process.off('SIGTERM', stop);
      reject(err);
    });
    child.on('close', (code, signal) => {
      process.off('SIGTERM', stop);
      resolve({ exitCode: code ?? (signal ? 128 + 15 : 1), output });
    });
  });
}
