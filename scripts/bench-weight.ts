/*
 * Prints the weight of the stages in a stack: the resources the first VM stage adds (with the
 * functions it shares), each further one, and a whole stack with a pipeline, 20 VM stages and a
 * Slack stage, with its template size. `npx projen bench:weight`; test/weight/ asserts the budget.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { amiWeightFigures, ansibleWeightFigures, countResources, fanoutFigures, resourcesUnder, weightStack } from '../test/weight/stack-weight';

const one = weightStack(1);
const two = weightStack(2);
const twenty = weightStack(20, true);
const pipelineOnly = weightStack(0);
const ami = amiWeightFigures();
const fanout = fanoutFigures();
const ansible = ansibleWeightFigures();
const kib = (stack: typeof one.stack) => (JSON.stringify(Template.fromStack(stack).toJSON()).length / 1024).toFixed(0);

const rows = [
  ['first VmCommandStage in a stack (with the shared functions)', String(resourcesUnder(one.stack, [one.stages[0], one.shared!])), '25'],
  ['each further VmCommandStage', String(resourcesUnder(two.stack, [two.stages[1]])), '12'],
  ['first AmiRefreshStage in a stack (with the shared functions)', String(ami.firstStage), '25'],
  ['each further AmiRefreshStage', String(ami.furtherStage), '12'],
  ['first AnsibleDeployStage, SSH (with the stack\'s lock table)', String(ansible.ssh.firstStage), '25'],
  ['each further AnsibleDeployStage, SSH', String(ansible.ssh.furtherStage), '12'],
  ['first AnsibleDeployStage, SSM (transfer bucket and policy)', String(ansible.ssm.firstStage), '25'],
  ['each further AnsibleDeployStage, SSM', String(ansible.ssm.furtherStage), '12'],
  ['pipeline only (the test pipeline)', String(countResources(pipelineOnly.stack)), ''],
  ['BranchBuildFanout', String(fanout.fanout), '20'],
  ['BranchBuildFanout with the sweep', String(fanout.fanoutWithSweep), '25'],
  [`pipeline + 20 VmCommandStages + SlackNotifyStage (template ${kib(twenty.stack)} KiB)`, String(countResources(twenty.stack)), '< 350'],
];
const header = ['stack', 'resources', 'budget'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)));
for (const row of [header, widths.map(w => '-'.repeat(w)), ...rows]) {
  console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
}
