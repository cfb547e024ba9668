import * as fs from 'fs';
import * as path from 'path';

/*
 * ansible's junit callback has no handler for unreachable hosts: they would be missing from the
 * report. The runner adds a suite with one failed case per unreachable host.
 */

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, c => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '\'': '&apos;', '"': '&quot;' }[c]!));
}

export function writeUnreachableReport(junitDir: string, playbook: string, hosts: string[]): string | undefined {
  if (!hosts.length) return undefined;
  const cases = hosts.map(host => `  <testcase classname="${escapeXml(playbook)}" name="[${escapeXml(host)}] unreachable">\n` +
    `    <failure type="unreachable" message="${escapeXml(`${host} was unreachable`)}"/>\n  </testcase>`);
  const xml = '<?xml version="1.0" encoding="utf-8"?>\n<testsuites>\n' +
    `<testsuite name="unreachable hosts" tests="${hosts.length}" failures="${hosts.length}" errors="0" skipped="0">\n` +
    `${cases.join('\n')}\n</testsuite>\n</testsuites>\n`;
  fs.mkdirSync(junitDir, { recursive: true });
  const file = path.join(junitDir, 'unreachable-hosts.xml');
  fs.writeFileSync(file, xml);
  return file;
}
