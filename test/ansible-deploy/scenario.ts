import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { Template } from 'aws-cdk-lib/assertions';
import { BuildOptions, BuildRun, resolvedProject, runBuildSpec } from './buildspec-runner';
import { Sshd } from './sshd';
import { Emulator } from '../emulator/harness';

/*
 * One build of an AnsibleDeployStage against the test sshd: the AWS side the build needs is put in
 * the emulator (the runner asset in its bucket, the lock table, the key and known_hosts
 * parameters), the artifact's files are written to a source directory, and the buildspec runs.
 */

export const RUNNER_ASSET = path.join(__dirname, '..', '..', 'assets', 'lambda-src', 'ansible-deploy', 'handlers', 'index.js');

export const PLAYBOOK = `- hosts: all
  gather_facts: false
  tasks:
    - name: write the marker file
      ansible.builtin.copy:
        dest: "{{ target_dir }}/{{ inventory_hostname }}.txt"
        content: "{{ message }}\\n"
`;

export const FAILING_PLAYBOOK = `- hosts: all
  gather_facts: false
  tasks:
    - name: run a command that fails
      ansible.builtin.command: /bin/false
`;

export function inventoryFile(sshd: Sshd, hosts: Record<string, { address?: string; port?: number }> = { web1: {} }): string {
  return `${Object.entries(hosts).map(([name, h]) =>
    `${name} ansible_host=${h.address ?? '127.0.0.1'} ansible_port=${h.port ?? sshd.port} ansible_python_interpreter=/usr/bin/python3`).join('\n')}\n`;
}

/** Puts what the build reads from AWS into the emulator. */
export async function prepareAws(emulator: Emulator, template: any, sshd: Sshd, knownHosts = sshd.knownHosts): Promise<void> {
  const { env, buildSpec } = resolvedProject(template, emulator.region);
  const s3 = emulator.client(S3Client);
  await s3.send(new CreateBucketCommand({ Bucket: env.ANSIBLE_STAGE_RUNNER_BUCKET }));
  const runner = { Bucket: env.ANSIBLE_STAGE_RUNNER_BUCKET, Key: env.ANSIBLE_STAGE_RUNNER_KEY };
  await s3.send(new PutObjectCommand({ ...runner, Body: fs.readFileSync(RUNNER_ASSET) }));
  const config = JSON.parse(env.ANSIBLE_STAGE_CONFIG);
  await emulator.client(DynamoDBClient).send(new CreateTableCommand({
    TableName: config.lock.table,
    KeySchema: [{ AttributeName: 'lockName', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'lockName', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
  const ssm = emulator.client(SSMClient);
  const parameters = buildSpec.env?.['parameter-store'] ?? {};
  if (parameters.ANSIBLE_SSH_PRIVATE_KEY) {
    await ssm.send(new PutParameterCommand({ Name: parameters.ANSIBLE_SSH_PRIVATE_KEY, Type: 'SecureString', Value: sshd.privateKey }));
  }
  if (parameters.ANSIBLE_KNOWN_HOSTS) {
    await ssm.send(new PutParameterCommand({ Name: parameters.ANSIBLE_KNOWN_HOSTS, Type: 'String', Value: knownHosts }));
  }
}

/** A source directory holding the artifact's files. */
export function sourceDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ansible-source-'));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

export async function build(emulator: Emulator, template: Template, source: string, options: Omit<BuildOptions, 'sourceDir'> = {}): Promise<BuildRun> {
  return runBuildSpec(emulator, template.toJSON(), { sourceDir: source, ...options });
}

/** The JUnit files the build left for the report group. */
export function junitReports(source: string): string {
  const dir = path.join(source, '.ansible-stage', 'junit');
  return fs.existsSync(dir) ? fs.readdirSync(dir).map(f => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n') : '';
}
