import * as fs from 'fs';
import * as path from 'path';
import { CreateTagsCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { PutItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
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
});
