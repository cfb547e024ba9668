import { z } from 'zod/v3';
import { yamlValue } from './extra-vars';
import { parseInput, parseJson } from '../core/input';

/*
 * An EC2 tag inventory is read once through the aws_ec2 plugin (`ansible-inventory --list`) and
 * given to ansible-playbook as a static YAML inventory in which every string of every variable
 * carries `!unsafe`. The values are instance data that anyone allowed ec2:CreateTags writes (tag
 * values above all), ansible-core before 2.19 templates a variable's value where a play uses it,
 * and the aws_ec2 plugin of Debian's amazon.aws 5.5.1 leaves them unmarked. The tag groups are made
 * here too: the plugin's `keyed_groups` evaluate `tags[...]` as Jinja with the host's variables,
 * and that templates every tag value of the host.
 */

/** The most of `ansible-inventory --list` output read (about 5 KiB per instance: some 25,000 instances). */
export const MAX_INVENTORY_LISTING_BYTES = 128 * 1024 * 1024;

const Vars = z.record(z.unknown());
const Group = z.object({ hosts: z.array(z.string()).optional(), children: z.array(z.string()).optional(), vars: Vars.optional() });
const Listing = z.object({ _meta: z.object({ hostvars: z.record(Vars) }).optional() }).catchall(Group);

/**
 * The YAML inventory (flow style) holding what `ansible-inventory --list` printed, every variable's
 * strings unsafe, plus a group `<key>_<value>` for each of `groupsByTag` that a host has.
 */
export function staticInventoryYaml(listingJson: string, groupsByTag: readonly string[]): string {
  const what = 'the EC2 inventory listing (ansible-inventory --list)';
  const { _meta: meta, ...groups } = parseInput(Listing, withoutUnsafeMarks(parseJson(listingJson, what)), what);
  const name = (text: string) => yamlValue(text, false);
  const vars = (values: Record<string, unknown>) => `{${Object.entries(values).map(([k, v]) => `${name(k)}: ${yamlValue(v, true)}`).join(', ')}}`;
  const members = (names: string[] = []) => `{${names.map(n => `${name(n)}: null`).join(', ')}}`;
  // Every host's variables once, in `all`; the other groups name their hosts.
  const hostvars = meta?.hostvars ?? {};
  const allHosts = `{${Object.entries(hostvars).map(([host, values]) => `${name(host)}: ${vars(values)}`).join(',\n   ')}}`;
  const byName: Array<[string, z.infer<typeof Group>]> = [['all', groups.all ?? {}], ...Object.entries(groups).filter(([group]) => group !== 'all')];
  for (const [group, hosts] of tagGroups(hostvars, groupsByTag)) byName.push([group, { hosts }]);
  const entries = byName.map(([group, data]) => {
    const parts = [`hosts: ${group === 'all' ? allHosts : members(data.hosts)}`, `children: ${members(data.children)}`];
    if (data.vars) parts.push(`vars: ${vars(data.vars)}`);
    return `${name(group)}: {${parts.join(',\n  ')}}`;
  });
  return `{${entries.join(',\n ')}}\n`;
}

/**
 * The hosts of each tag group, by name: `<key>_<value>`, every character but a letter, digit or
 * underscore made `_` (the group names ansible accepts without a warning).
 */
function tagGroups(hostvars: Record<string, Record<string, unknown>>, groupsByTag: readonly string[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const [host, values] of Object.entries(hostvars)) {
    const tags = values.tags;
    if (typeof tags !== 'object' || tags === null) continue;
    for (const key of groupsByTag) {
      const value = (tags as Record<string, unknown>)[key];
      if (typeof value !== 'string') continue;
      const group = `${key}_${value}`.replace(/[^A-Za-z0-9_]/g, '_');
      groups.set(group, [...groups.get(group) ?? [], host]);
    }
  }
  return groups;
}

/**
 * `ansible-inventory --list` writes a string that is marked unsafe as `{"__ansible_unsafe": "..."}`:
 * amazon.aws 10's aws_ec2 plugin marks every instance string so (seen with ansible-core 2.19). Every
 * string of the static inventory is unsafe anyway, so a mark is read as the string it holds.
 */
function withoutUnsafeMarks(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUnsafeMarks);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0][0] === '__ansible_unsafe' && typeof entries[0][1] === 'string') return entries[0][1];
  return Object.fromEntries(entries.map(([key, inner]) => [key, withoutUnsafeMarks(inner)]));
}
