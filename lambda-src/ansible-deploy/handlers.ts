import { readContext } from './config';
import { prepare as prepareRun } from './prepare';
import { run as runPlaybook } from './run';
import { InputError, reasonOf } from '../core/errors';

/*
 * The AnsibleDeployStage asset: a command-line program the stage's CodeBuild project downloads and
 * runs with Node.js (`node runner.js <command>`). Each export is one command of the buildspec:
 * - `prepare` (pre_build): validates the run's input and resolves the hosts;
 * - `run` (build): runs ansible-playbook under the stage's lock and reports its recap.
 * A command returns the process exit code.
 */

const log = (line: string) => process.stdout.write(`[AnsibleDeployStage] ${line}\n`);

export async function prepare(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Promise<number> {
  await prepareRun(readContext(env, cwd), log);
  return 0;
}

export async function run(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Promise<number> {
  return runPlaybook(readContext(env, cwd), log);
}

const COMMANDS: Record<string, (env?: NodeJS.ProcessEnv, cwd?: string) => Promise<number>> = { prepare, run };

async function main(argv: string[]): Promise<number> {
  const command = COMMANDS[argv[0]];
  try {
    if (!command) throw new InputError(`unknown command ${JSON.stringify(argv[0])}; expected one of ${Object.keys(COMMANDS).join(', ')}`);
    return await command();
  } catch (err) {
    // An InputError is the user's to fix; anything else is printed with its name.
    log(`FAILED: ${reasonOf(err)}`);
    return err instanceof InputError ? 3 : 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then(code => { process.exitCode = code; });
}
