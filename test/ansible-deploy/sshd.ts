import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

/*
 * A real OpenSSH server for the Ansible tests, on a free loopback port, run as an unprivileged
 * user with a freshly generated host key. As root, the tests run it as the `ansible-sshd-test`
 * system user (.ci/run creates it; this helper creates it when missing); otherwise as the current
 * user. It listens on several loopback addresses, so that tests can give hosts distinct addresses.
 */

export const SSHD_TEST_USER = 'ansible-sshd-test';
const SSHD = '/usr/sbin/sshd';

export interface Sshd {
  readonly port: number;
  /** The addresses it listens on (127.0.0.1 and more). */
  readonly addresses: string[];
  /** The user ansible logs in as (the one sshd runs as). */
  readonly user: string;
  /** The client's private key (OpenSSH format). */
  readonly privateKey: string;
  /** known_hosts lines for every address. */
  readonly knownHosts: string;
  /** known_hosts lines with another host key: a host that is not the one expected. */
  readonly wrongKnownHosts: string;
  /** A directory the login user may write to. */
  readonly dataDir: string;
  stop(): Promise<void>;
}

export function sshdAvailable(): boolean {
  return fs.existsSync(SSHD) && fs.existsSync('/usr/bin/ansible-playbook');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function keygen(file: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ansible-test', '-f', file]);
  return fs.readFileSync(`${file}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
}

function loginUser(): { name: string; asRoot: boolean } {
  if (process.getuid?.() !== 0) return { name: os.userInfo().username, asRoot: false };
  try {
    execFileSync('id', [SSHD_TEST_USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--create-home', '--shell', '/bin/bash', SSHD_TEST_USER]);
  }
  return { name: SSHD_TEST_USER, asRoot: true };
}

async function waitForPort(port: number, host: string, child: ChildProcess, log: () => string): Promise<void> {
  // sshd that fails exits at once (checked below); the limit only ends a hang on a busy machine.
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited ${child.exitCode}: ${log()}`);
    const open = await new Promise<boolean>(resolve => {
      const socket = net.connect(port, host, () => { socket.end(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise(r => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on ${host}:${port}: ${log()}`);
}

export async function startSshd(addresses = ['127.0.0.1', '127.0.0.2', '127.0.0.3']): Promise<Sshd> {
  const user = loginUser();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ansible-sshd-'));
  fs.chmodSync(dir, 0o755);
  const hostKey = keygen(path.join(dir, 'host_key'));
  const otherHostKey = keygen(path.join(dir, 'other_host_key'));
  keygen(path.join(dir, 'client_key'));
  fs.copyFileSync(path.join(dir, 'client_key.pub'), path.join(dir, 'authorized_keys'));
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir);
  const port = await freePort();
  const config = [
    ...addresses.map(a => `ListenAddress ${a}:${port}`),
    `HostKey ${dir}/host_key`,
    `PidFile ${dir}/sshd.pid`,
    `AuthorizedKeysFile ${dir}/authorized_keys`,
    `AllowUsers ${user.name}`,
    'StrictModes no',
    'UsePAM no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'MaxStartups 50',
    'Subsystem sftp internal-sftp',
    // A server that is not root cannot hand out terminals; ansible's `ssh -tt` then runs without one.
    'PermitTTY no',
    'LogLevel VERBOSE',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'sshd_config'), `${config}\n`);
  if (user.asRoot) execFileSync('chown', ['-R', user.name, dir]);
  const args = ['-D', '-e', '-f', path.join(dir, 'sshd_config')];
  // Its own process group: stopping it also ends the per-connection servers that ansible's
  // ControlPersist connections keep alive.
  const child = user.asRoot
    ? spawn('runuser', ['-u', user.name, '--', SSHD, ...args], { detached: true })
    : spawn(SSHD, args, { detached: true });
  let output = '';
  child.stdout!.on('data', c => { output += c; });
  child.stderr!.on('data', c => { output += c; });
  for (const address of addresses) await waitForPort(port, address, child, () => output);

  const known = (key: string) => `${addresses.map(a => `[${a}]:${port}`).join(',')} ${key}\n`;
  return {
    port,
    addresses,
    user: user.name,
    privateKey: fs.readFileSync(path.join(dir, 'client_key'), 'utf8'),
    knownHosts: known(hostKey),
    wrongKnownHosts: known(otherHostKey),
    dataDir,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise(resolve => child.once('exit', resolve));
        process.kill(-child.pid!, 'SIGTERM');
        await exited;
      }
      // Connection servers that left the group still hold the output pipes: the test does not wait for them.
      child.stdout!.destroy();
      child.stderr!.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
