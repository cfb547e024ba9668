import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DeleteItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateTagsCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { Template } from 'aws-cdk-lib/assertions';
import { resolvedProject } from './buildspec-runner';
import { stageStack, sshTransport } from './fixtures';
import { build, FAILING_PLAYBOOK, inventoryFile, junitReports, PLAYBOOK, prepareAws, sourceDir } from './scenario';
import { startSshd, Sshd, sshdAvailable } from './sshd';
import { AnsibleHostAddress, AnsibleInventory, FileParameterType, KnownHosts } from '../../src';
import { describeWithEmulator } from '../emulator/harness';

/*
 * Real ansible-playbook (Debian's ansible-core 2.14) over real OpenSSH against a test sshd on a
 * loopback port, driven by the stage's own buildspec and runner asset (test/ansible-deploy/
 * buildspec-runner.ts). AWS (the key and known_hosts parameters, the runner's bucket, the lock
 * table, EC2 for the tag inventory) is moto. Not run here: the install phase (PyPI and Galaxy are
 * not reachable; its commands are checked) and the SSM transport (no Session Manager; synth tests).
 */

if (!sshdAvailable() && (process.env.CI === 'true' || process.env.CI === '1')) {
  throw new Error('the Ansible tests need ansible and openssh-server (apt-get install -y ansible openssh-server openssh-client python3-boto3; .ci/run installs them)');
}
const describeSsh = sshdAvailable() ? describeWithEmulator : (name: string) => describe.skip(name, () => test.skip('needs ansible and sshd', () => undefined));

describeSsh('AnsibleDeployStage with real ansible-playbook over SSH', emulator => {
  let sshd: Sshd;
  beforeAll(async () => { sshd = await startSshd(); });
  afterAll(async () => { await sshd?.stop(); });
  beforeEach(() => {
    for (const file of fs.readdirSync(sshd.dataDir)) fs.rmSync(path.join(sshd.dataDir, file));
  });

  const files = (extra: Record<string, string> = {}) => ({ 'site.yml': PLAYBOOK, 'inventory.ini': inventoryFile(sshd), ...extra });
  const ssh = (knownHosts?: KnownHosts) => sshTransport({ port: sshd.port, user: sshd.user, knownHosts });
  const vars = () => ({ target_dir: sshd.dataDir, message: 'deployed' });

  test('a playbook that changes a file: success, recap changed=1, a JUnit report with the task, the private key never in the log', async () => {
    const template = Template.fromStack(stageStack({ transport: ssh(), extraVars: vars() }).stack);
    await prepareAws(emulator(), template.toJSON(), sshd);
    const source = sourceDir(files());

    const run = await build(emulator(), template, source);

    if (!run.succeeded) console.log(run.log);
    expect(run.log).toContain('[AnsibleDeployStage] 1 host: web1');
    expect(run.succeeded).toBe(true);
    expect(fs.readFileSync(path.join(sshd.dataDir, 'web1.txt'), 'utf8')).toBe('deployed\n');
    expect(run.exportedVariables).toMatchObject({ ANSIBLE_CHANGED: '1', ANSIBLE_OK: '1', ANSIBLE_FAILED: '0', ANSIBLE_UNREACHABLE: '0', ANSIBLE_HOSTS: 'web1', ANSIBLE_EXIT_CODE: '0' });
    expect(junitReports(source)).toMatch(/<testcase[^>]*name="\[web1\] all: write the marker file"/);
    const keyBody = sshd.privateKey.split('\n').filter(line => line && !line.startsWith('-----'));
    for (const line of keyBody) expect(run.log).not.toContain(line);
    expect(fs.existsSync(path.join(source, '.ansible-stage', 'id_ssh'))).toBe(false);
  });

  /** Every build's log: the private key's body never appears in it. */
  function expectNoKey(log: string): void {
    for (const line of sshd.privateKey.split('\n').filter(l => l && !l.startsWith('-----'))) expect(log).not.toContain(line);
  }

  test('a failing task: the build fails in its build phase with exit 2 naming the host; the recap variables are still exported', async () => {
    const template = Template.fromStack(stageStack({ transport: ssh() }).stack);
    await prepareAws(emulator(), template.toJSON(), sshd);
    const source = sourceDir(files({ 'site.yml': FAILING_PLAYBOOK }));

    const run = await build(emulator(), template, source);

    expect(run).toMatchObject({ succeeded: false, failedPhase: 'build', failedStatus: 2 });
    expect(run.log).toContain('[AnsibleDeployStage] FAILED: ansible-playbook exited 2 (failed hosts): failed hosts: web1');
    expect(run.exportedVariables).toMatchObject({ ANSIBLE_FAILED: '1', ANSIBLE_FAILED_HOSTS: 'web1', ANSIBLE_EXIT_CODE: '2', ANSIBLE_CHANGED: '0' });
    expect(junitReports(source)).toMatch(/<failure/);
    expectNoKey(run.log);
  });

  test('an unreachable host: exit 4, the host named in the failure and in the JUnit report (the callback has no handler for it)', async () => {
    const template = Template.fromStack(stageStack({ transport: ssh(), extraVars: vars() }).stack);
    await prepareAws(emulator(), template.toJSON(), sshd);
    // web2's port has no server.
    const source = sourceDir(files({ 'inventory.ini': inventoryFile(sshd, { web1: {}, web2: { port: 1 } }) }));

    const run = await build(emulator(), template, source);

    expect(run).toMatchObject({ succeeded: false, failedPhase: 'build', failedStatus: 4 });
    expect(run.log).toContain('FAILED: ansible-playbook exited 4 (unreachable hosts or a parse error): unreachable hosts: web2');
    expect(run.exportedVariables).toMatchObject({ ANSIBLE_UNREACHABLE: '1', ANSIBLE_UNREACHABLE_HOSTS: 'web2', ANSIBLE_CHANGED: '1', ANSIBLE_HOSTS: 'web1,web2' });
    expect(junitReports(source)).toMatch(/<testcase[^>]*name="\[web2\] unreachable"[^>]*>\s*<failure type="unreachable"/);
    expect(fs.existsSync(path.join(sshd.dataDir, 'web1.txt'))).toBe(true);
  });

  test('a host key that does not match known_hosts: ssh refuses the host and the failure says why', async () => {
    const template = Template.fromStack(stageStack({ transport: ssh(), extraVars: { ...vars(), message: 'must not arrive' } }).stack);
    await prepareAws(emulator(), template.toJSON(), sshd, sshd.wrongKnownHosts);
    const source = sourceDir(files());

    const run = await build(emulator(), template, source);

    expect(run).toMatchObject({ succeeded: false, failedPhase: 'build', failedStatus: 4 });
    expect(run.log).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    expect(run.log).toContain('unreachable hosts: web1; host key verification failed: a host presented a key that known_hosts does not hold for it');
    expect(fs.existsSync(path.join(sshd.dataDir, 'web1.txt'))).toBe(false);
  });

  test('known_hosts from a file in the artifact works like the parameter', async () => {
    const template = Template.fromStack(stageStack({ transport: ssh(KnownHosts.fromFile('ssh/known_hosts')), extraVars: { ...vars(), message: 'from file' } }).stack);
    await prepareAws(emulator(), template.toJSON(), sshd);
    const run = await build(emulator(), template, sourceDir(files({ 'ssh/known_hosts': sshd.knownHosts })));

    expect(run.succeeded).toBe(true);
    expect(fs.readFileSync(path.join(sshd.dataDir, 'web1.txt'), 'utf8')).toBe('from file\n');
  });

  test('preview: the check changes nothing and its summary (the approval message) counts the tasks that would change; the apply then runs on the previewed hosts', async () => {
    const { stack } = stageStack({ transport: ssh(), extraVars: { ...vars(), message: 'previewed' }, preview: true }, { variablesNamespace: 'Ansible' });
    const template = Template.fromStack(stack);
    await prepareAws(emulator(), template.toJSON(), sshd);
    const source = sourceDir(files());
    const actions = pipelineActions(template, 'Deploy');

    const check = await build(emulator(), template, source, { actionEnv: actions[0].env });

    expect(check.succeeded).toBe(true);
    expect(check.log).toContain('--- before');
    expect(fs.existsSync(path.join(sshd.dataDir, 'web1.txt'))).toBe(false);
    expect(check.exportedVariables).toMatchObject({ ANSIBLE_CHANGED: '1', ANSIBLE_MODE: 'check', ANSIBLE_HOSTS: 'web1' });
    const approval = resolveVariables(actions[1].configuration.CustomData, 'Ansible', check.exportedVariables);
    expect(approval).toBe('Ansible check: check of site.yml on 1 host (web1): 1 task would change, 0 failed, 0 unreachable');

    const apply = await build(emulator(), template, source, { actionEnv: resolveEnv(actions[2].env, 'Ansible', check.exportedVariables) });

    expect(apply.succeeded).toBe(true);
    expect(apply.exportedVariables).toMatchObject({ ANSIBLE_CHANGED: '1', ANSIBLE_MODE: 'apply', ANSIBLE_HOSTS: 'web1' });
    expect(fs.readFileSync(path.join(sshd.dataDir, 'web1.txt'), 'utf8')).toBe('previewed\n');
  });

  test('the apply after a preview runs only on the hosts the preview saw, even if the inventory has gained hosts since', async () => {
    const { stack } = stageStack({ transport: ssh(), extraVars: vars(), preview: true }, { variablesNamespace: 'Ansible' });
    const template = Template.fromStack(stack);
    await prepareAws(emulator(), template.toJSON(), sshd);
    const source = sourceDir(files({ 'inventory.ini': inventoryFile(sshd, { web1: {}, web3: { address: '127.0.0.3' } }) }));
    const actions = pipelineActions(template, 'Deploy');

    const apply = await build(emulator(), template, source, { actionEnv: resolveEnv(actions[2].env, 'Ansible', { ANSIBLE_HOSTS: 'web1' }) });

    expect(apply.succeeded).toBe(true);
    expect(apply.log).toContain('[AnsibleDeployStage] 1 host: web1');
    expect(apply.exportedVariables.ANSIBLE_HOSTS).toBe('web1');
  });

  test('a collections requirements file in the artifact is installed before the run (a local collection tarball: Galaxy is not reachable here)', async () => {
    const template = Template.fromStack(stageStack({ transport: ssh(), extraVars: vars() }).stack);
    await prepareAws(emulator(), template.toJSON(), sshd);
    const source = sourceDir(files({
      'site.yml': PLAYBOOK.replace('"{{ message }}\\n"', '"{{ message | test_ns.demo.shout }}\\n"'),
      'collections/requirements.yml': 'collections:\n  - name: collections/test_ns-demo-1.0.0.tar.gz\n    type: file\n',
    }));
    buildCollection(path.join(source, 'collections'));

    const run = await build(emulator(), template, source);

    expect(run.log).toContain('test_ns.demo:1.0.0 was installed successfully');
    expect(run.succeeded).toBe(true);
    expect(fs.readFileSync(path.join(sshd.dataDir, 'web1.txt'), 'utf8')).toBe('DEPLOYED!\n');
  });

  test('a bad parameters file fails before ansible runs, naming the file and the problem', async () => {
    const template = Template.fromStack(stageStack({
      transport: ssh(), extraVars: vars(), parametersFile: 'deploy.json', fileParameters: { message: FileParameterType.STRING },
    }).stack);
    await prepareAws(emulator(), template.toJSON(), sshd);

    const run = await build(emulator(), template, sourceDir(files({ 'deploy.json': '{"parameters":{"message":5,"target_dir":"/etc"}}' })));

    expect(run).toMatchObject({ succeeded: false, failedPhase: 'pre_build' });
    expect(run.log).toContain('[AnsibleDeployStage] FAILED: parameters file `deploy.json` is invalid: `parameters.message`: Expected string, received number; `parameters`: Unrecognized key(s) in object: \'target_dir\'');
    expect(run.log).not.toContain('PLAY [');
    expect(run.log).not.toContain('Entering phase BUILD');
  });

  test('a valid parameters file sets typed extra vars that override the stage\'s', async () => {
    const template = Template.fromStack(stageStack({
      transport: ssh(), extraVars: vars(), parametersFile: 'deploy.json', fileParameters: { message: FileParameterType.STRING },
    }).stack);
    await prepareAws(emulator(), template.toJSON(), sshd);

    const run = await build(emulator(), template, sourceDir(files({ 'deploy.json': '{"parameters":{"message":"from the file; $(touch /tmp/pwned)"}}' })));

    expect(run.succeeded).toBe(true);
    expect(fs.readFileSync(path.join(sshd.dataDir, 'web1.txt'), 'utf8')).toBe('from the file; $(touch /tmp/pwned)\n');
  });

  // The Injection class: Ansible docs, "Advanced playbook syntax: Unsafe or raw strings" (`!unsafe` is never templated).
  test('a Jinja expression in the parameters file or a CodePipeline variable reaches the host verbatim and runs nothing on the build host', async () => {
    const marker = path.join(os.tmpdir(), `ansible-injected-${process.pid}`);
    fs.rmSync(marker, { force: true });
    const jinja = `{{ lookup('pipe', 'touch ${marker}') }}`;
    const { stack } = stageStack({
      transport: ssh(),
      extraVars: vars(),
      variableExtraVars: { message: '#{Source.CommitId}' },
      parametersFile: 'deploy.json',
      fileParameters: { note: FileParameterType.STRING },
    });
    const template = Template.fromStack(stack);
    await prepareAws(emulator(), template.toJSON(), sshd);
    const source = sourceDir(files({
      'site.yml': PLAYBOOK.replace('"{{ message }}\\n"', '"{{ message }}|{{ note }}\\n"'),
      'deploy.json': JSON.stringify({ parameters: { note: `${jinja} {% if true %}x{% endif %}` } }),
    }));
    const [action] = pipelineActions(template, 'Deploy');
    expect(action.env).toEqual({ ANSIBLE_STAGE_MODE: 'apply', ANSIBLE_STAGE_VAR_0: '#{Source.CommitId}' });

    const run = await build(emulator(), template, source, { actionEnv: { ...action.env, ANSIBLE_STAGE_VAR_0: jinja } });

    if (!run.succeeded) console.log(run.log);
    expect(run.succeeded).toBe(true);
    expect(fs.readFileSync(path.join(sshd.dataDir, 'web1.txt'), 'utf8')).toBe(`${jinja}|${jinja} {% if true %}x{% endif %}\n`);
    expect(fs.existsSync(marker)).toBe(false);
  });

  // Tag values are anyone's with ec2:CreateTags. ansible-core before 2.19 templates a variable's value where a play uses it, and
  // the aws_ec2 plugin of Debian's amazon.aws 5.5.1 sets them unmarked: a `{{ }}` in a tag would run on the build host.
  test('dynamic inventory by EC2 tags (moto): only the running instances with the tags are configured, grouped by tag; tag values are never templated', async () => {
    const marker = path.join(os.tmpdir(), `ansible-tag-injected-${process.pid}`);
    fs.rmSync(marker, { force: true });
    const jinja = `{{ lookup('pipe', 'touch ${marker}') }}`;
    const ec2 = emulator().client(EC2Client, { region: 'eu-west-1' });
    const tagged = async (tags: Record<string, string>) => {
      const { Instances } = await ec2.send(new RunInstancesCommand({ ImageId: 'ami-12c6146b', MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }));
      const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
      await ec2.send(new CreateTagsCommand({ Resources: [Instances![0].InstanceId!], Tags }));
    };
    await tagged({ Role: 'web', Address: '127.0.0.2', Note: jinja });
    await tagged({ Role: 'web', Address: '127.0.0.3', Note: jinja });
    await tagged({ Role: 'db', Address: '127.0.0.1' });
    const template = Template.fromStack(stageStack({
      transport: ssh(),
      playbook: 'web.yml',
      extraVars: vars(),
      inventory: AnsibleInventory.ec2Tags({ tagFilters: { Role: ['web'] }, groupsByTag: ['Role'], hostAddress: AnsibleHostAddress.tag('Address') }),
    }).stack);
    await prepareAws(emulator(), template.toJSON(), sshd);
    const source = sourceDir({ 'web.yml': PLAYBOOK.replace('- hosts: all', '- hosts: Role_web').replace('"{{ message }}\\n"', '"{{ tags.Note }}\\n"') });

    const run = await build(emulator(), template, source, {
      envOverrides: { PYTHONPATH: path.join(__dirname, 'python-endpoint'), TEST_BOTO3_ENDPOINT_URL: emulator().endpoint },
    });

    expect(run.log).toContain('[AnsibleDeployStage] 2 hosts: 127.0.0.2, 127.0.0.3');
    expect(run.succeeded).toBe(true);
    expect(run.exportedVariables).toMatchObject({ ANSIBLE_HOSTS: '127.0.0.2,127.0.0.3', ANSIBLE_CHANGED: '2' });
    expect(fs.readdirSync(sshd.dataDir)).toEqual(expect.arrayContaining(['127.0.0.2.txt', '127.0.0.3.txt']));
    expect(fs.existsSync(path.join(sshd.dataDir, '127.0.0.1.txt'))).toBe(false);
    expect(fs.readFileSync(path.join(sshd.dataDir, '127.0.0.2.txt'), 'utf8')).toBe(`${jinja}\n`);
    expect(fs.existsSync(marker)).toBe(false);
    expectNoKey(run.log);
  });

  test('dynamic inventory that matches no instance fails before ansible runs', async () => {
    const template = Template.fromStack(stageStack({
      transport: ssh(), inventory: AnsibleInventory.ec2Tags({ tagFilters: { Role: ['nothing-has-this'] }, hostAddress: AnsibleHostAddress.tag('Address') }),
    }).stack);
    await prepareAws(emulator(), template.toJSON(), sshd);

    const run = await build(emulator(), template, sourceDir(files()), {
      envOverrides: { PYTHONPATH: path.join(__dirname, 'python-endpoint'), TEST_BOTO3_ENDPOINT_URL: emulator().endpoint },
    });

    expect(run).toMatchObject({ succeeded: false, failedPhase: 'pre_build' });
    expect(run.log).toContain('[AnsibleDeployStage] FAILED: no host matches');
  });

  test('the lock: a run waits while another build holds the stage\'s lock, then takes it and releases it', async () => {
    const template = Template.fromStack(stageStack({ transport: ssh(), extraVars: vars() }).stack);
    await prepareAws(emulator(), template.toJSON(), sshd);
    const { env } = resolvedProject(template.toJSON(), emulator().region);
    const config = JSON.parse(env.ANSIBLE_STAGE_CONFIG);
    // The other build's lease outlasts the test: only its release lets the run go on.
    const lockItem = { lockName: { S: config.lock.name } };
    await emulator().client(DynamoDBClient).send(new PutItemCommand({
      TableName: config.lock.table,
      Item: { ...lockItem, owner: { S: 'project:other-build' }, expiresAt: { N: String(Math.floor(Date.now() / 1000) + 3600) } },
    }));

    const running = build(emulator(), template, sourceDir(files()), {
      envOverrides: { ANSIBLE_STAGE_CONFIG: JSON.stringify({ ...config, lock: { ...config.lock, pollSeconds: 1 } }) },
    });
    const isRunsClaim = (c: { input: any }) => c.input.Item?.lockName?.S === config.lock.name && c.input.Item?.owner?.S !== 'project:other-build';
    // Its second claim comes after it has read and logged the holder: now the other build releases.
    await emulator().waitForCall('dynamodb', 'GetItem', c => c.input.Key?.lockName?.S === config.lock.name);
    while (emulator().calls('dynamodb', 'PutItem').filter(isRunsClaim).length < 2) await new Promise(resolve => setTimeout(resolve, 100));
    await emulator().client(DynamoDBClient).send(new DeleteItemCommand({ TableName: config.lock.table, Key: lockItem }));
    const run = await running;

    expect(run.succeeded).toBe(true);
    expect(run.log).toMatch(/lock '\w+' is held by project:other-build \(lease until [^)]+\): waiting/);
    expect(run.log.indexOf('is held by')).toBeLessThan(run.log.indexOf('taken'));
    expect(run.log).toContain('released');
    // The claim that took the lock came after the other build released it.
    const calls = emulator().calls('dynamodb');
    const released = calls.findIndex(c => c.operation === 'DeleteItem' && c.input.Key?.lockName?.S === config.lock.name);
    const claims = calls.map((c, i) => (c.operation === 'PutItem' && isRunsClaim(c) ? i : -1)).filter(i => i >= 0);
    expect(claims.length).toBeGreaterThanOrEqual(2);
    expect(claims[0]).toBeLessThan(released);
    expect(claims[claims.length - 1]).toBeGreaterThan(released);
  });
});

/** The stage's actions in the pipeline, with their environment variables. */
function pipelineActions(template: Template, stageName: string): Array<{ name: string; configuration: any; env: Record<string, string> }> {
  const [pipeline] = Object.values(template.findResources('AWS::CodePipeline::Pipeline')) as any[];
  const stage = pipeline.Properties.Stages.find((s: any) => s.Name === stageName);
  return stage.Actions.map((a: any) => ({
    name: a.Name,
    configuration: a.Configuration,
    env: Object.fromEntries(JSON.parse(a.Configuration.EnvironmentVariables ?? '[]').map((v: any) => [v.name, v.value])),
  }));
}

/** What CodePipeline does with `#{namespace.NAME}` in an action's configuration. */
function resolveVariables(text: string, namespace: string, variables: Record<string, string>): string {
  return text.replace(new RegExp(`#\\{${namespace}\\.(\\w+)\\}`, 'g'), (_, name: string) => variables[name]);
}
function resolveEnv(env: Record<string, string>, namespace: string, variables: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, resolveVariables(v, namespace, variables)]));
}

/** Builds a collection `test_ns.demo` with a `shout` filter into `outputDir`. */
function buildCollection(outputDir: string): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collection-'));
  fs.writeFileSync(path.join(dir, 'galaxy.yml'), 'namespace: test_ns\nname: demo\nversion: 1.0.0\nreadme: README.md\nauthors: [tests]\n');
  fs.writeFileSync(path.join(dir, 'README.md'), 'A collection for the tests.\n');
  fs.mkdirSync(path.join(dir, 'plugins', 'filter'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'plugins', 'filter', 'shout.py'),
    'class FilterModule:\n    def filters(self):\n        return {"shout": lambda text: str(text).upper() + "!"}\n');
  execFileSync('ansible-galaxy', ['collection', 'build', dir, '--output-path', outputDir], { stdio: 'ignore' });
  fs.rmSync(dir, { recursive: true, force: true });
}

