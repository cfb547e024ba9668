/*
 * The library's figures, all measured in one run: weight per construct, the npm package and its
 * assets, the example app's synth, runs on the emulator (VmCommandStage against the seed design,
 * AmiRefreshStage, BranchBuildFanout under load, AnsibleDeployStage over SSH) and their cost.
 * `npx projen bench` (a few minutes); `npx projen bench:quick` (`--quick`: small counts, no SSH
 * scenarios) keeps it from rotting in CI. Tables are Markdown, as the README shows them.
 */
import { assetFigures } from './bench/assets';
import { costTable } from './bench/cost';
import { packageFigures } from './bench/package';
import { ansibleScenarios, emulatorRuns } from './bench/runs';
import { synthFigures } from './bench/synth';
import { kib, table } from './bench/table';
import { constructWeights } from '../test/weight/stack-weight';

const quick = process.argv.includes('--quick');
const settings = quick
  ? {
    loadRuns: 1,
    synthRuns: 1,
    commandMinutes: [2],
    ami: { bakeMinutes: 1, refreshMinutes: 2 },
    fanout: { pushes: 50, branches: 5 },
    ansible: false,
  }
  : {
    loadRuns: 7,
    synthRuns: 5,
    commandMinutes: [2, 30],
    ami: { bakeMinutes: 20, refreshMinutes: 30 },
    fanout: { pushes: 1000, branches: 50 },
    ansible: true,
  };
/** The library's functions' memory (createBundledFunction's default), and the seed design's (Lambda's default). */
const MEMORY_MB = 256;
const SEED_MEMORY_MB = 128;

const ratio = (a: number, b: number) => (b ? `${(a / b).toFixed(2)}x` : '-');
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<void> {
  const started = Date.now();
  const out: string[] = [];
  const print = (text: string) => {
    out.push(text);
    console.log(text);
  };

  print(table('Weight per construct', ['construct', 'resources: first', 'each further', 'template KiB: first', 'each further', 'functions', 'assets'],
    constructWeights().map(w => [w.construct, String(w.first.resources), w.further ? String(w.further.resources) : '-',
      w.first.templateKiB.toFixed(1), w.further ? w.further.templateKiB.toFixed(1) : '-',
      String(w.first.functions + (w.further?.functions ?? 0)), String(w.first.assets + (w.further?.assets ?? 0))]),
    [
      'The first instance counts what it shares with further ones in its stack (functions, run table, queue). Template KiB: its resources\' JSON.',
      'Functions and assets: the first and a further instance together (assets: distinct files to upload).',
    ]));

  const pkg = packageFigures();
  print(table('Package', ['package', 'KiB'], [
    [`npm tarball (npm pack of the jsii build, ${pkg.files} files)`, kib(pkg.tarballBytes)],
    ['installed (unpacked; no dependencies: aws-cdk-lib and constructs are peers)', kib(pkg.unpackedBytes)],
  ]));
  const assets = assetFigures(settings.loadRuns);
  print(table('Assets (one per construct)', ['asset', 'KiB', 'gzip KiB', `cold require ms (median of ${settings.loadRuns})`, 'size vs SDK clients only', 'SDK clients'],
    assets.map(a => [a.name, kib(a.bytes), kib(a.gzipBytes), a.loadMs.toFixed(0), ratio(a.bytes, a.sdkOnlyBytes), a.sdkClients.map(c => c.replace('@aws-sdk/client-', '')).join(' ')]),
    ['"size vs SDK clients only": the asset against a bundle of only the SDK clients it uses, minified the same way.']));

  const synth = synthFigures(settings.synthRuns);
  print(table('Synth of the example app (examples/app.ts)', ['app', 'resources', `synth ms (median of ${synth.runs})`, 'ratio'], [
    ['without the library\'s stages', String(synth.resourcesWithout), synth.withoutMs.toFixed(0), '1.00x'],
    ['with them', String(synth.resourcesWith), synth.withMs.toFixed(0), ratio(synth.withMs, synth.withoutMs)],
  ], [
    `Each run a fresh \`node app.js\` (compiled, the jsii-built package, cdk-nag on), alternating. No bundling: child processes started in all runs: ${synth.childProcesses};`,
    `the ${synth.libraryAssetDirs} asset directories the library staged in cdk.out are byte-identical to its shipped assets: ${synth.identicalToShipped} of ${synth.libraryAssetDirs}.`,
  ]));

  const runs = await emulatorRuns({ commandMinutes: settings.commandMinutes, ami: settings.ami, fanout: settings.fanout });
  const vmRows = runs.vm.flatMap(({ commandMinutes, stage, seed }) => [
    [`${commandMinutes}-minute command: VmCommandStage`, String(stage.stateTransitions), String(stage.lambdaInvocations), `${stage.dynamoDbWrites} / ${stage.dynamoDbReads}`,
      String(stage.ssmCalls), String(stage.jobRenewals), `${stage.detectionMs} ms (event)`, stage.outcome],
    [`${commandMinutes}-minute command: seed design`, String(seed.stateTransitions), String(seed.lambdaInvocations), `${seed.dynamoDbWrites} / ${seed.dynamoDbReads}`,
      String(seed.ssmCalls), '-', `0-10 s (Wait) + ${seed.detectionMs} ms`, seed.outcome],
    ['  ratio stage / seed', ratio(stage.stateTransitions, seed.stateTransitions), ratio(stage.lambdaInvocations, seed.lambdaInvocations), '', ratio(stage.ssmCalls, seed.ssmCalls), '', '', ''],
  ]);
  print(table('Runs: VmCommandStage against the seed design (two instances)', ['run', 'state transitions', 'Lambda invocations', 'DynamoDB writes / reads', 'SSM calls', 'job renewals', 'detection latency', 'result'], vmRows, [
    'Seed design (test/vm-command/seed-design.ts): submit -> Wait 10 s -> status -> Choice (loop) -> report, in the same emulator with the same scripted command.',
    'The stage: waits scaled 60x (1 s per minute: backstop 5 min, job renewal at 9 min); the seed: Wait at 0 s and the command\'s',
    'clock advanced 10 s per poll. Lambda invocations include the pipeline action (and its renewed jobs) and the event function.',
    'Detection latency: from the command\'s final status to the job result, in the emulator; the stage\'s backstop catches a lost event within 5 min.',
  ], [7]));
  const ami = runs.ami;
  print(table(`Runs: AmiRefreshStage (${ami.bakeMinutes}-minute bake, ${ami.refreshMinutes}-minute refresh)`, ['measure', 'count'], [
    ['state transitions', String(ami.stateTransitions)],
    ['Lambda invocations: state machine / event function / pipeline action', `${ami.stateMachineInvocations} / ${ami.eventFunctionInvocations} / ${ami.actionInvocations}`],
    ['backstop polls (SDK calls, no function): image / refresh', `${ami.imagePolls} / ${ami.refreshPolls}`],
    ['job renewals', String(ami.jobRenewals)],
    ['DynamoDB writes / reads', `${ami.dynamoDbWrites} / ${ami.dynamoDbReads}`],
    ['result', ami.outcome],
  ], ['Waits scaled 60x; the image and the refresh report their end by event at the end of their time (test/ami-refresh/run-figures.ts).']));
  const f = runs.fanout;
  print(table(`Runs: BranchBuildFanout (${f.pushes} pushes over ${f.branches} branches, 20% of StartBuild throttled)`, ['measure', 'value'], [
    ['StartBuild calls throttled', String(f.throttledCalls)],
    ['builds started', String(f.builds)],
    ['lost / duplicated / branches out of order / dead-lettered', `${f.lost} / ${f.duplicated} / ${f.orderViolations} / ${f.deadLetters}`],
    ['push -> StartBuild p50 / p99 / max', `${f.latencyMs.p50} / ${f.latencyMs.p99} / ${f.latencyMs.max} ms`],
    ['run (first PutEvents to all dispatched)', secs(f.durationMs)],
  ], ['moto\'s EventBridge and SQS FIFO queues, the bundled handlers behind a harness event source mapping (test/branch-build-fanout/load.ts).']));
  if (settings.ansible) {
    const ansible = ansibleScenarios();
    const sum = ansible.scenarios.reduce((s, t) => s + (t.seconds ?? 0), 0);
    print(table('Runs: AnsibleDeployStage over SSH (real ansible-playbook and sshd, moto for AWS)', ['scenario', 'result', 'seconds'], [
      ...ansible.scenarios.map(s => [s.title, s.status, s.seconds?.toFixed(1) ?? '-']),
      ['all scenarios (sum)', `${ansible.scenarios.filter(s => s.status === 'passed').length}/${ansible.scenarios.length} passed`, sum.toFixed(1)],
    ]));
    if (!ansible.ok) process.exitCode = 1;
  }

  print(costTable([
    ...runs.vm.flatMap(({ commandMinutes, stage, seed }) => [
      {
        name: `VmCommandStage, ${commandMinutes}-min command`,
        transitions: stage.stateTransitions,
        lambdaInvocations: stage.lambdaInvocations,
        memoryMb: MEMORY_MB,
        dynamoDbWrites: stage.dynamoDbWrites,
        dynamoDbReads: stage.dynamoDbReads,
        sqsRequests: 0,
      },
      {
        name: `seed design, ${commandMinutes}-min command`,
        transitions: seed.stateTransitions,
        lambdaInvocations: seed.lambdaInvocations,
        memoryMb: SEED_MEMORY_MB,
        dynamoDbWrites: seed.dynamoDbWrites,
        dynamoDbReads: seed.dynamoDbReads,
        sqsRequests: 0,
      },
    ]),
    {
      name: `AmiRefreshStage, ${ami.bakeMinutes}-min bake + ${ami.refreshMinutes}-min refresh`,
      transitions: ami.stateTransitions,
      lambdaInvocations: ami.stateMachineInvocations + ami.eventFunctionInvocations + ami.actionInvocations,
      memoryMb: MEMORY_MB,
      dynamoDbWrites: ami.dynamoDbWrites,
      dynamoDbReads: ami.dynamoDbReads,
      sqsRequests: 0,
    },
    {
      name: `BranchBuildFanout, ${f.pushes} pushes`,
      transitions: 0,
      lambdaInvocations: f.lambdaInvocations,
      memoryMb: MEMORY_MB,
      dynamoDbWrites: f.dynamoDbWrites,
      dynamoDbReads: f.dynamoDbReads,
      sqsRequests: f.sqsRequests,
    },
  ]));
  print(`Measured in ${secs(Date.now() - started)}${quick ? ' (quick mode: small counts, no SSH scenarios)' : ''}.`);

  const failed = runs.vm.some(r => r.stage.outcome !== 'success' || r.seed.outcome !== 'success') || ami.outcome !== 'success'
    || f.lost || f.duplicated || f.orderViolations || f.deadLetters || synth.identicalToShipped !== synth.libraryAssetDirs || synth.childProcesses;
  if (failed) {
    console.error('bench: a run did not end as expected (see the tables)');
    process.exitCode = 1;
  }
}

main().catch(err => {
  console.error(err);
  process.exitCode = 1;
});
