import * as fs from 'fs';
import * as path from 'path';
import { ansibleEnv, playbookArgs, runProcess } from './ansible';
import { RunContext, workPaths } from './config';
import { extraVarsYaml } from './extra-vars';
import { parseListHosts } from './recap';
import { MAX_INVENTORY_LISTING_BYTES, staticInventoryYaml } from './static-inventory';
import { InputError } from '../core/errors';
import { MAX_PARAMETERS_FILE_BYTES, parseParametersFile } from '../core/parameters-file';

/*
 * `prepare` (the buildspec's pre_build): everything that can be checked before ansible-playbook
 * runs. It validates the run's input (parameters file included), writes the files the run reads,
 * and resolves the hosts; an empty host list is an error.
 */

type Ec2Inventory = Extract<RunContext['config']['inventory'], { ec2: unknown }>['ec2'];

const TAG_KEY = /^[A-Za-z0-9_.:/+=@-]{1,128}$/;
const JINJA = /\{[{%#]/;

export async function prepare(ctx: RunContext, log: (line: string) => void): Promise<string[]> {
  const paths = workPaths(ctx.cwd);
  fs.mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(paths.dir, 0o700);
  fs.mkdirSync(paths.junit, { recursive: true });

  fs.writeFileSync(paths.extraVars, extraVarsYaml(ctx.config.extraVars, runVars(ctx)));
  const inventory = ctx.config.inventory;
  if ('ec2' in inventory) await readEc2Inventory(ctx, inventory.ec2);
  else requireFile(ctx, inventory.file, 'inventory', true);
  writeConnection(ctx);
  if (ctx.previewHosts) fs.writeFileSync(paths.previewHosts, `${ctx.previewHosts.join('\n')}\n`);
  requireFile(ctx, ctx.config.playbook, 'playbook');

  const listing = await runProcess('ansible-playbook', ['--list-hosts', ...playbookArgs(ctx), '--', ctx.config.playbook],
    { env: ansibleEnv(ctx), cwd: ctx.cwd, echo: false });
  // With a --limit that matches nothing, ansible-playbook refuses to list (exit 1) rather than list none.
  const limitMatchesNothing = /leaves us with no hosts to (match|target)/.test(listing.output);
  if (listing.exitCode !== 0 && !limitMatchesNothing) {
    process.stdout.write(listing.output);
    throw new InputError(`the inventory or the playbook could not be read (ansible-playbook --list-hosts exited ${listing.exitCode}; its output is above)`);
  }
  // ansible lists the hosts in no stable order: sorted, the variables and the approval read the same every run.
  const hosts = limitMatchesNothing ? [] : parseListHosts(listing.output).sort();
  if (!hosts.length) {
    throw new InputError(`no host matches: the inventory${ctx.config.limit || ctx.previewHosts ? ' and the limit' : ''} give the playbook's plays no host to run on`);
  }
  // A host name (e.g. from an EC2 tag with `hostAddress.tag`) is a variable that ansible templates where a play uses it.
  const templated = hosts.filter(host => JINJA.test(host));
  if (templated.length) {
    throw new InputError(`host names must not hold Jinja delimiters ({{, {%, {#), which ansible would evaluate: ${templated.map(h => JSON.stringify(h)).join(', ')}`);
  }
  fs.writeFileSync(paths.hosts, JSON.stringify(hosts));
  log(`${hosts.length} host${hosts.length === 1 ? '' : 's'}: ${hosts.join(', ')}`);
  return hosts;
}

/** The run's extra vars: the CodePipeline variables, then the parameters file (which wins); they override the stage's `extraVars`. */
function runVars(ctx: RunContext): Record<string, unknown> {
  const vars: Record<string, unknown> = {};
  for (const [name, envName] of Object.entries(ctx.config.variableExtraVars)) {
    const value = ctx.env[envName];
    if (value === undefined) throw new InputError(`extra var \`${name}\`: the action did not set ${envName}`);
    vars[name] = value;
  }
  const file = ctx.config.parametersFile;
  if (file) {
    const full = requireFile(ctx, file, 'parameters file');
    const size = fs.statSync(full).size;
    if (size > MAX_PARAMETERS_FILE_BYTES) throw new InputError(`parameters file \`${file}\` is larger than ${MAX_PARAMETERS_FILE_BYTES / 1024} KiB`);
    Object.assign(vars, parseParametersFile(fs.readFileSync(full, 'utf8'), file, ctx.config.fileParameters).parameters);
  }
  return vars;
}

/** Queries EC2 through the aws_ec2 plugin and writes the static inventory the run reads (static-inventory.ts). */
async function readEc2Inventory(ctx: RunContext, inventory: Ec2Inventory): Promise<void> {
  const paths = workPaths(ctx.cwd);
  fs.writeFileSync(paths.ec2PluginConfig, JSON.stringify(ec2PluginConfig(inventory)));
  fs.rmSync(paths.ec2Listing, { force: true });
  const listing = await runProcess('ansible-inventory', ['-i', paths.ec2PluginConfig, '--list', '--output', paths.ec2Listing],
    { env: ansibleEnv(ctx), cwd: ctx.cwd, echo: false });
  if (listing.exitCode !== 0) {
    process.stdout.write(listing.output);
    throw new InputError(`the EC2 inventory could not be read (ansible-inventory --list exited ${listing.exitCode}; its output is above)`);
  }
  const size = fs.statSync(paths.ec2Listing).size;
  if (size > MAX_INVENTORY_LISTING_BYTES) throw new InputError(`the EC2 inventory listing is ${size} bytes, more than the ${MAX_INVENTORY_LISTING_BYTES} read`);
  fs.writeFileSync(paths.ec2Inventory, staticInventoryYaml(fs.readFileSync(paths.ec2Listing, 'utf8'), inventory.groupsByTag));
}

/** The aws_ec2 plugin's configuration (JSON is YAML). */
function ec2PluginConfig({ regions, tagFilters, groupsByTag, hostname }: Ec2Inventory): Record<string, unknown> {
  for (const key of [...Object.keys(tagFilters), ...groupsByTag]) {
    if (!TAG_KEY.test(key)) throw new InputError(`tag key ${JSON.stringify(key)} is not allowed in the inventory`);
  }
  const filters: Record<string, string[] | string> = { 'instance-state-name': 'running' };
  for (const [key, values] of Object.entries(tagFilters)) filters[`tag:${key}`] = values;
  return {
    plugin: 'amazon.aws.aws_ec2',
    regions,
    filters,
    hostnames: [hostname],
    strict: true,
  };
}

function writeConnection(ctx: RunContext): void {
  const paths = workPaths(ctx.cwd);
  const transport = ctx.config.transport;
  if ('ssm' in transport) {
    fs.writeFileSync(paths.connectionVars, JSON.stringify({
      ansible_connection: transport.ssm.plugin,
      ansible_aws_ssm_bucket_name: transport.ssm.bucket,
      ansible_aws_ssm_region: ctx.env.AWS_REGION ?? ctx.env.AWS_DEFAULT_REGION,
      // The bucket is SSE-S3 encrypted: the plugin is told so rather than left to guess.
      ansible_aws_ssm_bucket_sse_mode: 'AES256',
    }));
    return;
  }
  const key = ctx.env.ANSIBLE_SSH_PRIVATE_KEY;
  if (!key || !key.trim()) throw new InputError('the SSH private key is empty (ANSIBLE_SSH_PRIVATE_KEY from the buildspec env)');
  writePrivate(paths.privateKey, key.endsWith('\n') ? key : `${key}\n`);
  const knownHosts = transport.ssh.knownHosts;
  if ('env' in knownHosts) {
    const lines = ctx.env.ANSIBLE_KNOWN_HOSTS;
    if (!lines || !lines.trim()) throw new InputError('the known_hosts parameter is empty');
    fs.writeFileSync(paths.knownHosts, lines.endsWith('\n') ? lines : `${lines}\n`);
  } else if ('file' in knownHosts) {
    requireFile(ctx, knownHosts.file, 'known_hosts file');
  }
}

/** Creates the file readable by its owner only, before anything is written to it. */
function writePrivate(file: string, content: string): void {
  fs.rmSync(file, { force: true });
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    fs.writeSync(fd, content);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(file, 0o600);
}

/** A file of the input artifact that must exist. */
function requireFile(ctx: RunContext, file: string, what: string, directoryAllowed = false): string {
  const full = path.resolve(ctx.cwd, file);
  const stat = fs.statSync(full, { throwIfNoEntry: false });
  if (!stat || (!stat.isFile() && !(directoryAllowed && stat.isDirectory()))) {
    throw new InputError(`${what} \`${file}\` was not found in the input artifact`);
  }
  return full;
}
