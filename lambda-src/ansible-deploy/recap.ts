/*
 * What ansible-playbook printed: the hosts `--list-hosts` would run on, and the PLAY RECAP.
 * Colors are off (ANSIBLE_NOCOLOR), so the lines are plain text.
 */

export const RECAP_FIELDS = ['ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored'] as const;
export type RecapField = typeof RECAP_FIELDS[number];
export type HostRecap = Record<RecapField, number>;

/** The hosts of every play in `ansible-playbook --list-hosts` output, in order, without duplicates. */
export function parseListHosts(output: string): string[] {
  const hosts = new Set<string>();
  let indent = -1;
  for (const line of output.split('\n')) {
    const header = /^(\s*)hosts \(\d+\):\s*$/.exec(line);
    if (header) {
      indent = header[1].length;
      continue;
    }
    const entry = /^(\s*)(\S.*?)\s*$/.exec(line);
    if (indent >= 0 && entry && entry[1].length > indent) hosts.add(entry[2]);
    else indent = -1;
  }
  return [...hosts];
}

/** The PLAY RECAP's line per host (the last recap, if the output holds several). */
export function parseRecap(output: string): Map<string, HostRecap> | null {
  const start = output.lastIndexOf('PLAY RECAP');
  if (start < 0) return null;
  const recap = new Map<string, HostRecap>();
  for (const line of output.slice(start).split('\n').slice(1)) {
    const match = /^(\S+)\s+:\s+(.*)$/.exec(line.trim());
    if (!match) continue;
    const counts = Object.fromEntries(RECAP_FIELDS.map(f => [f, 0])) as HostRecap;
    for (const pair of match[2].trim().split(/\s+/)) {
      const [key, value] = pair.split('=');
      if ((RECAP_FIELDS as readonly string[]).includes(key) && /^\d+$/.test(value)) counts[key as RecapField] = Number(value);
    }
    recap.set(match[1], counts);
  }
  return recap;
}

/** The recap's totals over every host. */
export function totals(recap: Map<string, HostRecap>): HostRecap {
  const sum = Object.fromEntries(RECAP_FIELDS.map(f => [f, 0])) as HostRecap;
  for (const counts of recap.values()) for (const f of RECAP_FIELDS) sum[f] += counts[f];
  return sum;
}

/** What ansible-playbook's exit code means (its documented codes). */
export function failureReason(exitCode: number, failedHosts: string[], unreachableHosts: string[], note?: string): string | null {
  const named = (label: string, hosts: string[]) => hosts.length ? `${label}: ${hosts.join(', ')}` : '';
  const hostsText = [named('failed hosts', failedHosts), named('unreachable hosts', unreachableHosts), note ?? ''].filter(Boolean).join('; ');
  switch (exitCode) {
    case 0: return null;
    case 2: return `ansible-playbook exited 2 (failed hosts): ${hostsText || 'no host named in the recap'}`;
    case 4: return `ansible-playbook exited 4 (unreachable hosts or a parse error): ${hostsText || 'no recap: the playbook or inventory could not be parsed (see the log above)'}`;
    default: return `ansible-playbook exited ${exitCode}: an error of the run itself, not of a host (see the log above)${hostsText ? `; ${hostsText}` : ''}`;
  }
}
