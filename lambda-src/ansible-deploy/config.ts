import * as path from 'path';
import { z } from 'zod/v3';
import { InputError } from '../core/errors';
import { parseInput, parseJson } from '../core/input';
import { FileParametersSchema } from '../core/parameters-file';

/*
 * The run configuration the construct writes into the CodeBuild project's environment
 * (`ANSIBLE_STAGE_CONFIG`, JSON). Every user value reaches ansible-playbook through this JSON and
 * the files the runner writes, as arguments of a process it spawns: never through a shell.
 */

const Tags = z.record(z.string(), z.array(z.string()).min(1));

export const RunConfigSchema = z.object({
  playbook: z.string().min(1),
  inventory: z.union([
    z.object({ file: z.string().min(1) }).strict(),
    z.object({
      ec2: z.object({
        regions: z.array(z.string()).min(1),
        tagFilters: Tags,
        groupsByTag: z.array(z.string()),
        hostname: z.string().min(1),
      }).strict(),
    }).strict(),
  ]),
  transport: z.union([
    z.object({
      ssh: z.object({
        user: z.string().min(1),
        port: z.number().int().min(1).max(65535),
        knownHosts: z.union([
          z.object({ env: z.literal('ANSIBLE_KNOWN_HOSTS') }).strict(),
          z.object({ file: z.string().min(1) }).strict(),
          z.object({ acceptAny: z.literal(true) }).strict(),
        ]),
      }).strict(),
    }).strict(),
    z.object({
      ssm: z.object({
        bucket: z.string().min(1),
        plugin: z.enum(['community.aws.aws_ssm', 'amazon.aws.aws_ssm']).default('community.aws.aws_ssm'),
      }).strict(),
    }).strict(),
  ]),
  limit: z.string().optional(),
  tags: z.array(z.string()).default([]),
  skipTags: z.array(z.string()).default([]),
  forks: z.number().int().min(1).optional(),
  verbosity: z.number().int().min(0).max(4).default(0),
  extraVars: z.record(z.string(), z.unknown()).default({}),
  /** Extra var name -> the action environment variable that carries its CodePipeline variable value. */
  variableExtraVars: z.record(z.string(), z.string()).default({}),
  parametersFile: z.string().min(1).optional(),
  fileParameters: FileParametersSchema,
  lock: z.object({
    table: z.string().min(1),
    name: z.string().min(1),
    ttlSeconds: z.number().int().min(60),
    pollSeconds: z.number().min(0).default(15),
    /** How long a release that the table does not answer (throttled, 5xx, no answer) is tried again. */
    releaseSeconds: z.number().min(0).default(60),
  }).strict().optional(),
}).strict();
export type RunConfig = z.infer<typeof RunConfigSchema>;

export type Mode = 'apply' | 'check';

export interface RunContext {
  readonly config: RunConfig;
  readonly mode: Mode;
  /** The hosts the preview saw (apply after a preview), or null. */
  readonly previewHosts: string[] | null;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/** Where the runner keeps its files, inside the build's source directory. */
export function workPaths(cwd: string) {
  const dir = path.join(cwd, '.ansible-stage');
  return {
    dir,
    extraVars: path.join(dir, 'extra-vars.yml'),
    connectionVars: path.join(dir, 'connection-vars.json'),
    ec2PluginConfig: path.join(dir, 'inventory.aws_ec2.yml'),
    ec2Listing: path.join(dir, 'inventory-listing.json'),
    ec2Inventory: path.join(dir, 'inventory.yml'),
    privateKey: path.join(dir, 'id_ssh'),
    knownHosts: path.join(dir, 'known_hosts'),
    previewHosts: path.join(dir, 'preview-hosts'),
    hosts: path.join(dir, 'hosts.json'),
    junit: path.join(dir, 'junit'),
    output: path.join(dir, 'ansible-output.log'),
    exports: path.join(dir, 'exports'),
  };
}

/** What ends an exported host list that was cut to fit CodePipeline's output variables (run.ts). */
export const CUT_MARKER = /(^|,)\.\.\.\(\+(\d+) more\)$/;

/** Reads the run from the build's environment: the project's config and the action's mode and preview hosts. */
export function readContext(env: NodeJS.ProcessEnv, cwd: string): RunContext {
  const text = env.ANSIBLE_STAGE_CONFIG;
  if (!text) throw new InputError('ANSIBLE_STAGE_CONFIG is not set: the runner runs in the build of an AnsibleDeployStage');
  const config = parseInput(RunConfigSchema, parseJson(text, 'ANSIBLE_STAGE_CONFIG'), 'ANSIBLE_STAGE_CONFIG');
  const modeText = env.ANSIBLE_STAGE_MODE || 'apply';
  if (modeText !== 'apply' && modeText !== 'check') throw new InputError(`ANSIBLE_STAGE_MODE must be apply or check, got: ${JSON.stringify(modeText)}`);
  const preview = env.ANSIBLE_STAGE_PREVIEW_HOSTS;
  let previewHosts: string[] | null = null;
  if (preview !== undefined) {
    const cut = CUT_MARKER.exec(preview);
    if (cut) {
      throw new InputError(`the preview's host list was cut to fit CodePipeline's output variables (${cut[2]} more hosts than fit): `
        + 'the apply cannot be limited to the hosts the check saw; run this fleet without `preview`, or in smaller stages (`limit`)');
    }
    previewHosts = preview.split(',').map(h => h.trim()).filter(Boolean);
    if (!previewHosts.length) throw new InputError('the preview saw no host: nothing to apply (ANSIBLE_STAGE_PREVIEW_HOSTS is empty)');
  }
  return { config, mode: modeText, previewHosts, env, cwd };
}
