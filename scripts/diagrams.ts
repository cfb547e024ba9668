/*
 * Writes docs/diagrams/<construct>.dot and .svg: for each construct, the template of a stack that
 * holds one of it (the weight test's stacks) drawn by scripts/diagrams/template-graph.ts and
 * rendered by Graphviz's `dot`. `npx projen diagrams`; .ci/run fails when the committed files differ.
 * `--png <dir>` also renders PNGs there, to look at.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { IConstruct } from 'constructs';
import { PipelineEvent, SlackNotifyStage, SlackWebhook } from '../src';
import { DiagramScope, templateToDot } from './diagrams/template-graph';
import { fanoutWith } from '../test/branch-build-fanout/fixtures';
import { pipelineWithSource, webhookSecret } from '../test/slack-notify/fixtures';
import { ENV } from '../test/vm-command/fixtures';
import { amiWeightStack, ansibleWeightStack, weightStack } from '../test/weight/stack-weight';

const OUT_DIR = path.join(__dirname, '..', 'docs', 'diagrams');

interface Subject {
  readonly file: string;
  readonly title: string;
  readonly stack: Stack;
  readonly scopes: Array<[IConstruct, string]>;
}

/** Both of the Slack stage's modes, as in the README: event notifications for the pipeline, and the action. */
function slackStack() {
  const stack = new Stack(new App(), 'PipelineStack', { env: ENV });
  const { pipeline } = pipelineWithSource(stack);
  const stage = new SlackNotifyStage(stack, 'Notify', {
    channels: [{ name: 'team', webhook: SlackWebhook.fromSecret(webhookSecret(stack)) }],
    pipeline,
    events: [PipelineEvent.EXECUTION_FAILED, PipelineEvent.APPROVAL_WAITING],
  });
  stage.addToPipeline(pipeline, { stageName: 'Announce' });
  return { stack, stage };
}

function subjects(): Subject[] {
  const vm = weightStack(1);
  const slack = slackStack();
  const ami = amiWeightStack(1);
  const fanout = fanoutWith({});
  const ansible = ansibleWeightStack(1, 'ssh');
  return [
    {
      file: 'vm-command-stage',
      title: 'VmCommandStage',
      stack: vm.stack,
      scopes: [[vm.stages[0], 'one per stage'], [vm.shared!, 'one per stack, shared by its VmCommandStages']],
    },
    { file: 'slack-notify-stage', title: 'SlackNotifyStage (event notifications and the action)', stack: slack.stack, scopes: [[slack.stage, 'one per stage']] },
    {
      file: 'ami-refresh-stage',
      title: 'AmiRefreshStage',
      stack: ami.stack,
      scopes: [[ami.stages[0], 'one per stage'], [ami.shared!, 'one per stack, shared by its AmiRefreshStages']],
    },
    { file: 'branch-build-fanout', title: 'BranchBuildFanout', stack: fanout.stack, scopes: [[fanout.fanout, 'one per fanout']] },
    {
      file: 'ansible-deploy-stage',
      title: 'AnsibleDeployStage (SSH, with preview)',
      stack: ansible.stack,
      scopes: [[ansible.stages[0], 'one per stage'], [ansible.shared!, 'one per stack, shared by its AnsibleDeployStages']],
    },
  ];
}

/** A construct's path below its stack, without the `/Resource` of L1 resources. */
function relativePath(stack: Stack, construct: IConstruct): string {
  return construct.node.path.slice(stack.node.path.length + 1).replace(/\/(Resource|Default)$/, '');
}

function dotOf(subject: Subject): string {
  const { stack } = subject;
  const paths: Record<string, string> = {};
  for (const c of stack.node.findAll()) {
    if (CfnResource.isCfnResource(c)) paths[stack.resolve(c.logicalId)] = relativePath(stack, c);
  }
  const scopes: DiagramScope[] = subject.scopes.map(([construct, caption]) => ({ path: relativePath(stack, construct), caption }));
  return templateToDot({ title: subject.title, template: Template.fromStack(stack).toJSON() as any, paths, scopes });
}

const pngIndex = process.argv.indexOf('--png');
const pngDir = pngIndex >= 0 ? process.argv[pngIndex + 1] : undefined;
fs.mkdirSync(OUT_DIR, { recursive: true });
const written = new Set<string>();
for (const subject of subjects()) {
  const dotFile = path.join(OUT_DIR, `${subject.file}.dot`);
  fs.writeFileSync(dotFile, dotOf(subject));
  execFileSync('dot', ['-Tsvg', dotFile, '-o', path.join(OUT_DIR, `${subject.file}.svg`)]);
  if (pngDir) execFileSync('dot', ['-Tpng', '-Gdpi=110', dotFile, '-o', path.join(pngDir, `${subject.file}.png`)]);
  written.add(`${subject.file}.dot`).add(`${subject.file}.svg`);
  console.log(`docs/diagrams/${subject.file}.svg`);
}
// A construct that is gone takes its diagram with it.
for (const file of fs.readdirSync(OUT_DIR)) if (!written.has(file)) fs.rmSync(path.join(OUT_DIR, file));
