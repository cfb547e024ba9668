import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { Emulator } from '../emulator/harness';
import { TemplateResolver } from '../emulator/template-resolver';

/*
 * Runs a synthesized CodeBuild project's buildspec here, the way CodeBuild runs it: the phases'
 * commands in order, in ONE bash process (buildspec 0.2 keeps variables across commands and
 * phases), in the source directory, with the environment the project and the action declare and
 * the buildspec's `parameter-store` and `secrets-manager` values read from the emulator (moto).
 * A failing command ends its phase; after a failed pre_build nothing else runs; after a failed
 * build, post_build still runs. The exported variables are read at the end.
 *
 * Only the install phase is skipped: it installs from PyPI and Ansible Galaxy, which are not
 * reachable here (this machine has Debian's ansible instead). Its commands are returned for the
 * tests to check.
 */

const PHASES = ['pre_build', 'build', 'post_build'] as const;
type Phase = typeof PHASES[number];

export interface BuildRun {
  /** 0 when every phase succeeded. */
  readonly succeeded: boolean;
  /** The phase whose command failed first, and its exit status. */
  readonly failedPhase?: Phase;
  readonly failedStatus?: number;
  /** Everything the build printed (what CodeBuild's log would show). */
  readonly log: string;
  /** `env.exported-variables`, with their values at the end of the build. */
  readonly exportedVariables: Record<string, string>;
  /** The skipped install phase's commands. */
  readonly installCommands: string[];
  readonly seconds: number;
}

export interface BuildOptions {
  /** The source directory (the input artifact's content). */
  readonly sourceDir: string;
  /** The action's environment variables (CodePipeline variables already resolved). */
  readonly actionEnv?: Record<string, string>;
  /** Test-only additions and overrides of the project's environment. */
  readonly envOverrides?: Record<string, string>;
}

/** The project of a template, with its buildspec and environment resolved. */
export function resolvedProject(template: any, region: string) {
  const resolver = new TemplateResolver(template, region);
  const [id] = resolver.logicalIdsOfType('AWS::CodeBuild::Project');
  const props = template.Resources[id].Properties;
  const buildSpec = JSON.parse(resolver.resolve(props.Source.BuildSpec));
  const env: Record<string, string> = Object.fromEntries((props.Environment.EnvironmentVariables ?? [])
    .map((v: any) => [v.Name, String(resolver.resolve(v.Value))]));
  return { logicalId: id, buildSpec, env };
}

async function secretEnv(emulator: Emulator, spec: any): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  const ssm = emulator.client(SSMClient);
  for (const [name, parameter] of Object.entries<string>(spec.env?.['parameter-store'] ?? {})) {
    const answer = await ssm.send(new GetParameterCommand({ Name: parameter, WithDecryption: true }));
    env[name] = answer.Parameter!.Value!;
  }
  const secrets = emulator.client(SecretsManagerClient);
  for (const [name, reference] of Object.entries<string>(spec.env?.['secrets-manager'] ?? {})) {
    // secret-id:json-key:version-stage:version-id, where the secret id may be an ARN (with colons).
    const match = /^(arn:[^:]*:secretsmanager:[^:]*:[^:]*:secret:[^:]+|[^:]+)(?::([^:]*))?/.exec(reference)!;
    const answer = await secrets.send(new GetSecretValueCommand({ SecretId: match[1] }));
    env[name] = match[2] ? String(JSON.parse(answer.SecretString!)[match[2]]) : answer.SecretString!;
  }
  return env;
}

/** The bash script that runs the phases with CodeBuild's rules. */
function script(spec: any, exportsFile: string): string {
  const lines = ['__failed_phase=""', '__failed_status=0'];
  for (const phase of PHASES) {
    const commands: string[] = spec.phases?.[phase]?.commands ?? [];
    const runs = phase === 'post_build' ? '[ "$__failed_phase" != pre_build ]' : '[ -z "$__failed_phase" ]';
    lines.push(`if ${runs}; then`, `echo "[Container] Entering phase ${phase.toUpperCase()}"`, '__phase_ok=1');
    for (const command of commands) {
      const quoted = `'${command.replace(/'/g, '\'"\'"\'')}'`;
      lines.push(
        'if [ "$__phase_ok" = 1 ]; then',
        `echo "[Container] Running command "${quoted}`,
        command,
        '__status=$?',
        `if [ $__status -ne 0 ]; then echo "[Container] Command did not exit successfully "${quoted}" exit status $__status"; __phase_ok=0; ` +
          `[ -z "$__failed_phase" ] && { __failed_phase=${phase}; __failed_status=$__status; }; fi`,
        'fi');
    }
    lines.push('fi');
  }
  const exported: string[] = spec.env?.['exported-variables'] ?? [];
  lines.push(`: > ${exportsFile}`);
  for (const name of exported) lines.push(`[ -n "\${${name}+x}" ] && printf '%s=%s\\n' ${name} "$${name}" >> ${exportsFile}`);
  lines.push('echo "__RESULT $__failed_phase $__failed_status"');
  return lines.join('\n');
}

export async function runBuildSpec(emulator: Emulator, template: any, options: BuildOptions): Promise<BuildRun> {
  const { buildSpec, env: projectEnv } = resolvedProject(template, emulator.region);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'buildspec-'));
  const exportsFile = path.join(work, 'exported');
  const scriptFile = path.join(work, 'build.sh');
  fs.writeFileSync(scriptFile, script(buildSpec, exportsFile));
  const env: Record<string, string> = {
    PATH: process.env.PATH!,
    LANG: 'C.UTF-8',
    HOME: path.join(work, 'home'),
    TMPDIR: work,
    // The test's sitecustomize (python-endpoint/) must not leave bytecode in the repository.
    PYTHONDONTWRITEBYTECODE: '1',
    CODEBUILD_SRC_DIR: options.sourceDir,
    CODEBUILD_BUILD_ID: `project:${path.basename(work)}`,
    AWS_ENDPOINT_URL: emulator.endpoint,
    AWS_REGION: emulator.region,
    AWS_DEFAULT_REGION: emulator.region,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID!,
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY!,
    AWS_MAX_ATTEMPTS: '1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...projectEnv,
    ...options.actionEnv,
    ...await secretEnv(emulator, buildSpec),
    ...options.envOverrides,
  };
  fs.mkdirSync(env.HOME);
  const started = Date.now();
  const log = await new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [scriptFile], { cwd: options.sourceDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', c => { output += c; });
    child.stderr.on('data', c => { output += c; });
    child.on('error', reject);
    child.on('close', () => resolve(output));
  });
  const result = /__RESULT (\S*) (\d+)\s*$/.exec(log);
  const exportedVariables = Object.fromEntries(fs.readFileSync(exportsFile, 'utf8').split('\n').filter(Boolean)
    .map(line => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  fs.rmSync(work, { recursive: true, force: true });
  return {
    succeeded: !!result && result[1] === '',
    failedPhase: (result?.[1] || undefined) as Phase | undefined,
    failedStatus: result?.[1] ? Number(result[2]) : undefined,
    log: log.replace(/__RESULT .*$/, ''),
    exportedVariables,
    installCommands: buildSpec.phases?.install?.commands ?? [],
    seconds: (Date.now() - started) / 1000,
  };
}
