/*
 * Runs the AnsibleDeployStage's real-SSH scenarios (test/ansible-deploy/ansible-deploy.ssh.test.ts:
 * real ansible-playbook, real sshd, moto) and prints each one's run time and the total.
 * `npx projen bench:ansible`; `npx projen bench` prints it with the other runs.
 */
import { ansibleScenarios } from './bench/runs';
import { table } from './bench/table';

const { scenarios, wallSeconds, ok } = ansibleScenarios();
const sum = scenarios.reduce((s, t) => s + (t.seconds ?? 0), 0);
console.log(table('AnsibleDeployStage over SSH', ['scenario', 'result', 'seconds'], [
  ...scenarios.map(s => [s.title, s.status, s.seconds?.toFixed(1) ?? '-']),
  ['all scenarios (sum of the tests)', `${scenarios.filter(s => s.status === 'passed').length}/${scenarios.length} passed`, sum.toFixed(1)],
  ['jest wall time (with start-up, moto and sshd)', '', wallSeconds.toFixed(1)],
]));
process.exitCode = ok ? 0 : 1;
