import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { measureRun, RunFigures } from '../../test/ami-refresh/run-figures';
import { LoadFigures, runLoad } from '../../test/branch-build-fanout/load';
import { Emulator } from '../../test/emulator/harness';
import { measureSeedRun, measureVmRun, VmRunFigures } from '../../test/vm-command/run-figures';

/*
 * The runs, counted on one emulator (moto with the harness): VmCommandStage against the seed design,
 * AmiRefreshStage, BranchBuildFanout under load; and the AnsibleDeployStage's real-SSH scenarios
 * (their own jest run: real ansible-playbook and sshd).
 */

export interface RunOptions {
  readonly commandMinutes: number[];
  readonly ami: { bakeMinutes: number; refreshMinutes: number };
  readonly fanout: { pushes: number; branches: number };
}

export interface RunsFigures {
  readonly vm: Array<{ commandMinutes: number; stage: VmRunFigures; seed: VmRunFigures }>;
  readonly ami: RunFigures & { bakeMinutes: number; refreshMinutes: number };
  readonly fanout: LoadFigures;
}

export async function emulatorRuns(options: RunOptions): Promise<RunsFigures> {
  // The run helpers check what they start with jest's `expect` (the package ships with jest).
  // eslint-disable-next-line import/no-extraneous-dependencies
  (globalThis as any).expect ??= (await import('expect')).expect;
  const emulator = await Emulator.start();
  try {
    const vm = [];
    for (const commandMinutes of options.commandMinutes) {
      vm.push({ commandMinutes, stage: await measureVmRun(emulator, { commandMinutes }), seed: await measureSeedRun(emulator, { commandMinutes }) });
    }
    await emulator.reset();
    const ami = { ...options.ami, ...(await measureRun(() => emulator, options.ami)) };
    await emulator.reset();
    const fanout = await runLoad(emulator, { ...options.fanout, throttleRate: 0.2 });
    return { vm, ami, fanout };
  } finally {
    await emulator.stop();
  }
}

export interface AnsibleScenario { readonly title: string; readonly status: string; readonly seconds?: number }

/** The AnsibleDeployStage's real-SSH scenarios (test/ansible-deploy/ansible-deploy.ssh.test.ts), each one's run time. */
export function ansibleScenarios(): { scenarios: AnsibleScenario[]; wallSeconds: number; ok: boolean } {
  const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ansible-')), 'results.json');
  const started = Date.now();
  const jest = spawnSync('npx', ['jest', '--coverage=false', '--json', `--outputFile=${report}`, 'test/ansible-deploy/ansible-deploy.ssh.test.ts'],
    { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env: { ...process.env, JEST_JUNIT_OUTPUT_DIR: path.dirname(report) } });
  const wallSeconds = (Date.now() - started) / 1000;
  if (!fs.existsSync(report)) throw new Error(`the Ansible scenarios did not run:\n${jest.stderr}`);
  const results = JSON.parse(fs.readFileSync(report, 'utf8'));
  const scenarios: AnsibleScenario[] = results.testResults.flatMap((file: any) => file.assertionResults.map((t: any) =>
    ({ title: t.title, status: t.status, seconds: t.duration !== undefined ? t.duration / 1000 : undefined })));
  return { scenarios, wallSeconds, ok: jest.status === 0 };
}
