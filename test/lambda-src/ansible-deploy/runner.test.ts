import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { prepare, run } from '../../../lambda-src/ansible-deploy/handlers';
import { writeUnreachableReport } from '../../../lambda-src/ansible-deploy/junit';
import { failureReason, parseListHosts, parseRecap, totals } from '../../../lambda-src/ansible-deploy/recap';
import { hostList, outputVariables } from '../../../lambda-src/ansible-deploy/run';
import { parseParametersFile } from '../../../lambda-src/core/parameters-file';
import { PIPELINE_OUTPUT_VARIABLES_MAX_BYTES } from '../../../src/core/private/quotas';

/*
 * The runner in-process: its parsers, and prepare/run against local hosts (ansible_connection=local)
 * with Debian's ansible-playbook. The SSH path runs in test/ansible-deploy/ansible-deploy.ssh.test.ts.
 */

const hasAnsible = fs.existsSync('/usr/bin/ansible-playbook');

describe('parsing what ansible-playbook prints', () => {
  test('--list-hosts: the hosts of every play, once each', () => {
    const output = `
playbook: site.yml

  play #1 (web): Configure web\tTAGS: []
    pattern: ['web']
    hosts (2):
      web1
      web2

  play #2 (all): Everything\tTAGS: []
    pattern: ['all']
    hosts (3):
      web1
      db1
      web2
`;
    expect(parseListHosts(output)).toEqual(['web1', 'web2', 'db1']);
    expect(parseListHosts('playbook: x.yml\n\n  play #1 (none): n\tTAGS: []\n    pattern: [\'none\']\n    hosts (0):\n')).toEqual([]);
  });

  test('PLAY RECAP: every host\'s counts, and their totals', () => {
    const output = `PLAY [all] ***
TASK [x] ***
PLAY RECAP *********************************************************************
web1                       : ok=2    changed=1    unreachable=0    failed=0    skipped=1    rescued=0    ignored=0
web2                       : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0
db1                        : ok=1    changed=0    unreachable=0    failed=1    skipped=0    rescued=1    ignored=2
`;
    const recap = parseRecap(output)!;
    expect([...recap.keys()]).toEqual(['web1', 'web2', 'db1']);
    expect(recap.get('db1')).toEqual({ ok: 1, changed: 0, unreachable: 0, failed: 1, skipped: 0, rescued: 1, ignored: 2 });
    expect(totals(recap)).toEqual({ ok: 3, changed: 1, unreachable: 1, failed: 1, skipped: 1, rescued: 1, ignored: 2 });
    expect(parseRecap('ERROR! the playbook could not be parsed')).toBeNull();
  });

  test('the failure reason tells ansible-playbook\'s exit codes apart', () => {
    expect(failureReason(0, [], [])).toBeNull();
    expect(failureReason(2, ['db1'], [])).toBe('ansible-playbook exited 2 (failed hosts): failed hosts: db1');
    expect(failureReason(4, ['db1'], ['web2'])).toBe('ansible-playbook exited 4 (unreachable hosts or a parse error): failed hosts: db1; unreachable hosts: web2');
    expect(failureReason(4, [], [])).toBe('ansible-playbook exited 4 (unreachable hosts or a parse error): no recap: the playbook or inventory could not be parsed (see the log above)');
    expect(failureReason(1, [], [])).toBe('ansible-playbook exited 1: an error of the run itself, not of a host (see the log above)');
    expect(failureReason(250, [], ['h'], 'note')).toBe('ansible-playbook exited 250: an error of the run itself, not of a host (see the log above); unreachable hosts: h; note');
  });

  test('the unreachable hosts\' JUnit suite escapes what it quotes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'junit-'));
    expect(writeUnreachableReport(dir, 'site.yml', [])).toBeUndefined();
    const xml = fs.readFileSync(writeUnreachableReport(dir, 'a"b<c>.yml', ['h&1'])!, 'utf8');
    expect(xml).toContain('<testsuite name="unreachable hosts" tests="1" failures="1"');
    expect(xml).toContain('<testcase classname="a&quot;b&lt;c&gt;.yml" name="[h&amp;1] unreachable">');
  });
});

// CodePipeline quotas, "Maximum size of output variables": 122,880 bytes for all of one action's variables together.
describe('the exported variables fit CodePipeline\'s output variables', () => {
  const fixed = { ANSIBLE_OK: '9000', ANSIBLE_EXIT_CODE: '2', ANSIBLE_MODE: 'check', ANSIBLE_SUMMARY: 'x'.repeat(400) };
  const size = (vars: Record<string, string>) => Object.entries(vars).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  const fleet = (n: number) => Array.from({ length: n }, (_, i) => `i-${i.toString(16).padStart(17, '0')}`);

  test('a fleet of 9,000 instances, half of them failed and a quarter unreachable: every list is cut with a count, all together within the limit', () => {
    const hosts = fleet(9000);
    const vars = outputVariables(fixed, {
      ANSIBLE_HOSTS: hosts, ANSIBLE_FAILED_HOSTS: hosts.slice(0, 4500), ANSIBLE_UNREACHABLE_HOSTS: hosts.slice(6750),
    });
    expect(size(vars)).toBeLessThanOrEqual(PIPELINE_OUTPUT_VARIABLES_MAX_BYTES);
    for (const [name, all] of [['ANSIBLE_HOSTS', 9000], ['ANSIBLE_FAILED_HOSTS', 4500], ['ANSIBLE_UNREACHABLE_HOSTS', 2250]] as const) {
      const match = /^(.*),\.\.\.\(\+(\d+) more\)$/.exec(vars[name])!;
      expect(match).not.toBeNull();
      expect(match[1].split(',').length + Number(match[2])).toBe(all);
    }
    // The full list keeps the most: the apply after a preview reads it.
    expect(vars.ANSIBLE_HOSTS.length).toBeGreaterThan(4 * vars.ANSIBLE_FAILED_HOSTS.length);
    expect(vars.ANSIBLE_SUMMARY).toBe(fixed.ANSIBLE_SUMMARY);
  });

  test('lists that fit are whole; a failed list alone may use the room the full list leaves', () => {
    const hosts = fleet(3000);
    expect(outputVariables(fixed, { ANSIBLE_HOSTS: hosts, ANSIBLE_FAILED_HOSTS: [], ANSIBLE_UNREACHABLE_HOSTS: [] }).ANSIBLE_HOSTS).toBe(hosts.join(','));
    const failed = outputVariables(fixed, {
      ANSIBLE_HOSTS: hosts.slice(0, 2000), ANSIBLE_FAILED_HOSTS: hosts.slice(0, 2000), ANSIBLE_UNREACHABLE_HOSTS: [],
    });
    expect(failed.ANSIBLE_FAILED_HOSTS).toBe(hosts.slice(0, 2000).join(','));
    expect(size(failed)).toBeLessThanOrEqual(PIPELINE_OUTPUT_VARIABLES_MAX_BYTES);
  });

  test('a cut counts multi-byte names in bytes, and a name that does not fit at all leaves only the count', () => {
    expect(hostList(['hôte-1', 'hôte-2', 'hôte-3'], 22)).toBe('hôte-1,...(+2 more)');
    expect(Buffer.byteLength(hostList(['hôte-1', 'hôte-2', 'hôte-3'], 22))).toBeLessThanOrEqual(22);
    expect(hostList(['a-very-long-host-name'], 12)).toBe('...(+1 more)');
  });
});

describe('the parameters file shared with VmCommandStage', () => {
  test('typed values pass; an unknown key or a wrong type is named', () => {
    const types = { n: 'integer', b: 'boolean', l: 'stringList', s: 'string' } as const;
    expect(parseParametersFile('{"parameters":{"n":3,"b":true,"l":["a"],"s":"x"}}', 'p.json', types).parameters).toEqual({ n: 3, b: true, l: ['a'], s: 'x' });
    expect(() => parseParametersFile('{"parameters":{"n":1.5}}', 'p.json', types)).toThrow('parameters file `p.json` is invalid: `parameters.n`: Expected integer, received float');
    expect(() => parseParametersFile('{"targets":{}}', 'p.json', types)).toThrow('parameters file `p.json` is invalid: Unrecognized key(s) in object: \'targets\'');
    expect(() => parseParametersFile('{', 'p.json', types)).toThrow(/^parameters file `p.json` is not valid JSON/);
  });
});

(hasAnsible ? describe : describe.skip)('prepare and run with ansible-playbook on local hosts', () => {
  const PLAYBOOK = '- hosts: all\n  gather_facts: false\n  tasks:\n    - name: write\n      ansible.builtin.copy:\n        dest: "{{ out }}/{{ inventory_hostname }}"\n        content: "{{ greeting }}"\n';
  let cwd: string;
  let out: string;
  const baseConfig = (extra: object = {}) => ({
    playbook: 'site.yml',
    inventory: { file: 'hosts.ini' },
    transport: { ssh: { user: 'nobody', port: 22, knownHosts: { acceptAny: true } } },
    extraVars: { greeting: 'from props' },
    ...extra,
  });
  const env = (config: object, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH, HOME: cwd, ANSIBLE_STAGE_CONFIG: JSON.stringify(config), ANSIBLE_SSH_PRIVATE_KEY: 'not a real key', ...extra,
  });
  let stdout: jest.SpyInstance;
  const printed = () => stdout.mock.calls.map(c => String(c[0])).join('');

  beforeEach(() => {
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-'));
    out = path.join(cwd, 'out');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(cwd, 'site.yml'), PLAYBOOK);
    fs.writeFileSync(path.join(cwd, 'hosts.ini'), 'a ansible_connection=local ansible_python_interpreter=/usr/bin/python3\nb ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n');
    stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => stdout.mockRestore());

  test('the extra vars: props, then CodePipeline variables, then the parameters file; the key file is 0600', async () => {
    fs.writeFileSync(path.join(cwd, 'p.json'), '{"parameters":{"count":2}}');
    const config = baseConfig({ variableExtraVars: { commit: 'ANSIBLE_STAGE_VAR_0' }, parametersFile: 'p.json', fileParameters: { count: 'integer' } });
    await prepare(env(config, { ANSIBLE_STAGE_VAR_0: 'abc123' }), cwd);
    expect(fs.readFileSync(path.join(cwd, '.ansible-stage', 'extra-vars.yml'), 'utf8')).toBe('{"greeting": "from props",\n "commit": !unsafe "abc123",\n "count": 2}\n');
    expect((fs.statSync(path.join(cwd, '.ansible-stage', 'id_ssh')).mode % 0o1000).toString(8)).toBe('600');
    expect(fs.readFileSync(path.join(cwd, '.ansible-stage', 'id_ssh'), 'utf8')).toBe('not a real key\n');
    expect(printed()).toContain('[AnsibleDeployStage] 2 hosts: a, b\n');
  });

  /*
   * The Injection class of the fault suite: a Jinja expression in a CodePipeline variable or a parameters-file value
   * reaches ansible-playbook as text (`!unsafe`, Ansible docs "Advanced playbook syntax: Unsafe or raw strings"), in a
   * string, a list, a key-shaped value and a variable that overrides a templated `extraVars` one; nothing runs.
   */
  test('a Jinja expression from a CodePipeline variable or the parameters file arrives verbatim and runs nothing', async () => {
    const marker = path.join(cwd, 'pwned');
    const jinja = (what: string) => `{{ lookup('pipe', 'touch ${marker}-${what}') }}`;
    const playbook = '- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.copy:\n        dest: "{{ out }}/{{ inventory_hostname }}"\n'
      + '        content: "{{ [commit, greeting, items, ok] | to_json }}"\n';
    fs.writeFileSync(path.join(cwd, 'site.yml'), playbook);
    fs.writeFileSync(path.join(cwd, 'p.json'), JSON.stringify({ parameters: { greeting: `${jinja('file')} "é\\ \u0085😀`, items: [jinja('list'), '{% raw %}x'] } }));
    const config = baseConfig({
      extraVars: { out, greeting: 'overridden', ok: '{{ 6 * 7 }}' },
      variableExtraVars: { commit: 'ANSIBLE_STAGE_VAR_0' },
      parametersFile: 'p.json',
      fileParameters: { greeting: 'string', items: 'stringList' },
      limit: 'a',
    });
    const environment = env(config, { ANSIBLE_STAGE_VAR_0: jinja('variable') });
    await prepare(environment, cwd);
    expect(await run(environment, cwd)).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'a'), 'utf8'))).toEqual([jinja('variable'), `${jinja('file')} "é\\ \u0085😀`, [jinja('list'), '{% raw %}x'], '42']);
    expect(fs.readdirSync(cwd).filter(f => f.startsWith('pwned'))).toEqual([]);
  });

  test('a host name with a Jinja expression (as an EC2 tag could give) is refused before ansible runs it', async () => {
    const marker = path.join(cwd, 'pwned-host');
    fs.writeFileSync(path.join(cwd, 'hosts.yml'), `all:\n  hosts:\n    "{{ lookup('pipe', 'touch ${marker}') }}":\n      ansible_connection: local\n`);
    const config = baseConfig({ inventory: { file: 'hosts.yml' }, extraVars: { greeting: 'hi', out } });
    await expect(prepare(env(config), cwd)).rejects.toThrow(`host names must not hold Jinja delimiters ({{, {%, {#), which ansible would evaluate: "{{ lookup('pipe', 'touch ${marker}') }}"`);
    expect(fs.existsSync(marker)).toBe(false);
    expect(fs.existsSync(path.join(cwd, '.ansible-stage', 'hosts.json'))).toBe(false);
  });

  test('run: the recap becomes the exports file, and the exit code is ansible-playbook\'s', async () => {
    const config = baseConfig({ extraVars: { greeting: 'hi', out }, limit: 'a' });
    await prepare(env(config), cwd);
    expect(await run(env(config), cwd)).toBe(0);
    const exports = fs.readFileSync(path.join(cwd, '.ansible-stage', 'exports'), 'utf8');
    expect(exports).toContain('ANSIBLE_CHANGED=1\n');
    expect(exports).toContain('ANSIBLE_HOSTS=a\n');
    expect(exports).toContain('ANSIBLE_SUMMARY=run of site.yml on 1 host (a): 1 task changed, 0 failed, 0 unreachable\n');
    expect(fs.readFileSync(path.join(out, 'a'), 'utf8')).toBe('hi');
    expect(fs.existsSync(path.join(out, 'b'))).toBe(false);
  });

  test.each<[string, (config: any) => { config: any; extraEnv?: NodeJS.ProcessEnv; files?: Record<string, string> }, string]>([
    ['no config', () => ({ config: undefined }), 'ANSIBLE_STAGE_CONFIG is not set'],
    ['a bad mode', c => ({ config: c, extraEnv: { ANSIBLE_STAGE_MODE: 'destroy' } }), 'ANSIBLE_STAGE_MODE must be apply or check, got: "destroy"'],
    ['an empty preview', c => ({ config: c, extraEnv: { ANSIBLE_STAGE_PREVIEW_HOSTS: ' , ' } }), 'the preview saw no host: nothing to apply'],
    ['a preview host list that was cut', c => ({ config: c, extraEnv: { ANSIBLE_STAGE_PREVIEW_HOSTS: 'a,b,...(+7000 more)' } }),
      'the preview\'s host list was cut to fit CodePipeline\'s output variables (7000 more hosts than fit): the apply cannot be limited to the hosts the check saw'],
    ['a missing playbook', c => ({ config: { ...c, playbook: 'other.yml' } }), 'playbook `other.yml` was not found in the input artifact'],
    ['a missing inventory', c => ({ config: { ...c, inventory: { file: 'nope' } } }), 'inventory `nope` was not found in the input artifact'],
    ['a missing parameters file', c => ({ config: { ...c, parametersFile: 'p.json' } }), 'parameters file `p.json` was not found in the input artifact'],
    ['a parameters file too large', c => ({ config: { ...c, parametersFile: 'p.json' }, files: { 'p.json': ' '.repeat(256 * 1024 + 1) } }), 'parameters file `p.json` is larger than 256 KiB'],
    ['a missing CodePipeline variable', c => ({ config: { ...c, variableExtraVars: { commit: 'ANSIBLE_STAGE_VAR_0' } } }), 'extra var `commit`: the action did not set ANSIBLE_STAGE_VAR_0'],
    ['an empty key', c => ({ config: c, extraEnv: { ANSIBLE_SSH_PRIVATE_KEY: ' ' } }), 'the SSH private key is empty'],
    ['an empty known_hosts parameter', c => ({ config: { ...c, transport: { ssh: { ...c.transport.ssh, knownHosts: { env: 'ANSIBLE_KNOWN_HOSTS' } } } } }), 'the known_hosts parameter is empty'],
    ['a missing known_hosts file', c => ({ config: { ...c, transport: { ssh: { ...c.transport.ssh, knownHosts: { file: 'kh' } } } } }), 'known_hosts file `kh` was not found in the input artifact'],
    ['a limit that matches nothing', c => ({ config: { ...c, limit: 'zzz' } }), 'no host matches: the inventory and the limit give the playbook\'s plays no host to run on'],
    ['an unparsable playbook', c => ({ config: c, files: { 'site.yml': '- hosts: all\n  tasks: [' } }), 'the inventory or the playbook could not be read (ansible-playbook --list-hosts exited 4'],
    ['a tag key with quotes', c => ({ config: { ...c, inventory: { ec2: { regions: ['eu-west-1'], tagFilters: { 'a"b': ['x'] }, groupsByTag: [], hostname: 'instance-id' } } } }), 'tag key "a\\"b" is not allowed in the inventory'],
  ])('prepare fails clearly on %s', async (_, make, message) => {
    const { config, extraEnv, files } = make(baseConfig());
    for (const [name, content] of Object.entries(files ?? {})) fs.writeFileSync(path.join(cwd, name), content);
    const environment = env(config ?? {}, extraEnv);
    if (!config) delete environment.ANSIBLE_STAGE_CONFIG;
    await expect(prepare(environment, cwd)).rejects.toThrow(message);
  });

  test('the EC2 tag inventory: the plugin configuration is generated from the config; an unreadable inventory is an error, not an empty one', async () => {
    const config = baseConfig({ inventory: { ec2: { regions: ['eu-west-1'], tagFilters: { Role: ['web', 'api'] }, groupsByTag: ['Role', 'aws:team'], hostname: 'tag:Address' } } });
    // EC2 is not reachable here (boto3 goes to a closed port): the listing fails after the configuration is written.
    const unreachableEc2 = { AWS_EC2_METADATA_DISABLED: 'true', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', HTTPS_PROXY: 'http://127.0.0.1:9', AWS_MAX_ATTEMPTS: '1' };
    await expect(prepare(env(config, unreachableEc2), cwd)).rejects.toThrow('the EC2 inventory could not be read (ansible-inventory --list exited 1');
    expect(printed()).toContain('Completely failed to parse inventory source');
    expect(JSON.parse(fs.readFileSync(path.join(cwd, '.ansible-stage', 'inventory.aws_ec2.yml'), 'utf8'))).toEqual({
      plugin: 'amazon.aws.aws_ec2',
      regions: ['eu-west-1'],
      filters: { 'instance-state-name': 'running', 'tag:Role': ['web', 'api'] },
      hostnames: ['tag:Address'],
      strict: true,
    });
  });

  test('the shipped runner as a program: an unknown command and a refused input exit 3 with a FAILED line', () => {
    const asset = path.join(__dirname, '..', '..', '..', 'assets', 'lambda-src', 'ansible-deploy', 'handlers', 'index.js');
    const unknown = spawnSync(process.execPath, [asset, 'deploy'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(unknown.status).toBe(3);
    expect(unknown.stdout).toBe('[AnsibleDeployStage] FAILED: unknown command "deploy"; expected one of prepare, run\n');
    const noConfig = spawnSync(process.execPath, [asset, 'prepare'], { encoding: 'utf8', env: { PATH: process.env.PATH }, cwd });
    expect(noConfig.status).toBe(3);
    expect(noConfig.stdout).toContain('FAILED: ANSIBLE_STAGE_CONFIG is not set');
  });

  test('run before prepare is refused', async () => {
    await expect(run(env(baseConfig()), cwd)).rejects.toThrow('prepare has not run: the host list is missing');
  });

  test('the SSM transport writes the aws_ssm connection vars with the bucket\'s SSE mode', async () => {
    const config = baseConfig({ transport: { ssm: { bucket: 'transfer-bucket' } } });
    await prepare(env(config, { AWS_REGION: 'eu-west-1' }), cwd);
    expect(JSON.parse(fs.readFileSync(path.join(cwd, '.ansible-stage', 'connection-vars.json'), 'utf8'))).toEqual({
      ansible_connection: 'community.aws.aws_ssm', ansible_aws_ssm_bucket_name: 'transfer-bucket', ansible_aws_ssm_region: 'eu-west-1', ansible_aws_ssm_bucket_sse_mode: 'AES256',
    });
    expect(fs.existsSync(path.join(cwd, '.ansible-stage', 'id_ssh'))).toBe(false);
    const ten = baseConfig({ transport: { ssm: { bucket: 'transfer-bucket', plugin: 'amazon.aws.aws_ssm' } } });
    await prepare(env(ten, { AWS_REGION: 'eu-west-1' }), cwd);
    expect(JSON.parse(fs.readFileSync(path.join(cwd, '.ansible-stage', 'connection-vars.json'), 'utf8')).ansible_connection).toBe('amazon.aws.aws_ssm');
  });
});
