import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { staticInventoryYaml } from '../../../lambda-src/ansible-deploy/static-inventory';

/*
 * The static inventory an EC2 tag inventory becomes, read back by Debian's ansible-inventory. That
 * its strings are never templated is shown end to end, over SSH, in
 * test/ansible-deploy/ansible-deploy.ssh.test.ts ("tag values are never templated").
 */

const hasAnsible = fs.existsSync('/usr/bin/ansible-inventory');

const listing = {
  _meta: {
    hostvars: {
      '10.0.0.1': { instance_id: 'i-1', tags: { 'Role': 'web-1', 'Note': '{{ lookup("pipe", "id") }}', 'aws:team': 'a' }, placement: { region: 'eu-west-1' }, cpu: 2, ebs_optimized: true, kernel_id: null },
      '10.0.0.2': { instance_id: 'i-2', tags: { Role: 'db' }, placement: { region: 'eu-west-1' }, cpu: 4.5, ebs_optimized: false, kernel_id: null },
    },
  },
  all: { children: ['ungrouped', 'aws_ec2'] },
  aws_ec2: { hosts: ['10.0.0.1', '10.0.0.2'] },
};

function markedUnsafe(value: unknown): unknown {
  if (typeof value === 'string') return { __ansible_unsafe: value };
  if (Array.isArray(value)) return value.map(markedUnsafe);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, markedUnsafe(v)]));
  return value;
}

test('a listing whose strings are marked unsafe ({"__ansible_unsafe": ...}, as amazon.aws 10 lists them) gives the inventory of the plain listing', () => {
  const marked = { ...listing, _meta: { hostvars: markedUnsafe(listing._meta.hostvars) } };
  expect(staticInventoryYaml(JSON.stringify(marked), ['Role', 'aws:team'])).toBe(staticInventoryYaml(JSON.stringify(listing), ['Role', 'aws:team']));
});

(hasAnsible ? describe : describe.skip)('the static EC2 inventory, read by ansible-inventory', () => {
  test('keeps every host variable as it was listed, every string marked unsafe, and adds a group per tag value (letters, digits and _ only)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'static-inventory-'));
    try {
      const file = path.join(dir, 'inventory.yml');
      fs.writeFileSync(file, staticInventoryYaml(JSON.stringify(listing), ['Role', 'aws:team', 'Absent']));
      const read = spawnSync('ansible-inventory', ['-i', file, '--list'], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir } });
      expect(read.status).toBe(0);
      const result = JSON.parse(read.stdout);
      // ansible-inventory prints a string marked unsafe as {"__ansible_unsafe": ...}: every string is marked.
      expect(result._meta.hostvars).toEqual(markedUnsafe(listing._meta.hostvars));
      expect(result.aws_ec2.hosts).toEqual(['10.0.0.1', '10.0.0.2']);
      expect(result.Role_web_1.hosts).toEqual(['10.0.0.1']);
      expect(result.Role_db.hosts).toEqual(['10.0.0.2']);
      expect(result.aws_team_a.hosts).toEqual(['10.0.0.1']);
      expect(Object.keys(result).filter(name => name.startsWith('Absent'))).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('a listing that is not an inventory is refused, naming it', () => {
  expect(() => staticInventoryYaml('{"aws_ec2": {"hosts": "10.0.0.1"}}', [])).toThrow('the EC2 inventory listing (ansible-inventory --list) is invalid: `aws_ec2.hosts`: Expected array, received string');
  expect(() => staticInventoryYaml('[', [])).toThrow('the EC2 inventory listing (ansible-inventory --list) is not valid JSON');
});
