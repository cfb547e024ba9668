/*
 * Every limit named in src/core/private/quotas.ts is used by the code that could exceed it
 * (src/ or lambda-src/, outside its definition): a named quota cannot be decorative.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const QUOTAS = path.join(ROOT, 'src', 'core', 'private', 'quotas.ts');

/** The constants a quotas module exports. */
function quotaNames(source: string): string[] {
  return [...source.matchAll(/^export const (\w+)/gm)].map(m => m[1]);
}

/** Source text without comments: a quota named only in a comment is not used. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

/** The names no file uses as an identifier. */
function unusedQuotas(names: string[], files: Record<string, string>): string[] {
  const sources = Object.values(files).map(code);
  return names.filter(name => !sources.some(text => new RegExp(`\\b${name}\\b`).test(text)));
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const file = path.join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(file) : entry.name.endsWith('.ts') ? [file] : [];
  });
}

test('a quota only defined, or only named in a comment, is unused', () => {
  const names = quotaNames('export const A_LIMIT = 1;\nexport const B_LIMIT = 2;\nexport const C_LIMIT = 3;\n');
  expect(names).toEqual(['A_LIMIT', 'B_LIMIT', 'C_LIMIT']);
  expect(unusedQuotas(names, {
    'a.ts': 'import { A_LIMIT } from "./quotas";\nif (n > A_LIMIT) throw new Error("too many");',
    'b.ts': '// stays under B_LIMIT\n/* and C_LIMIT */ const x = 1;',
  })).toEqual(['B_LIMIT', 'C_LIMIT']);
});

test('every quota of src/core/private/quotas.ts is used in src/ or lambda-src/', () => {
  const names = quotaNames(fs.readFileSync(QUOTAS, 'utf8'));
  expect(names.length).toBeGreaterThan(0);
  const files = Object.fromEntries([...sourceFiles(path.join(ROOT, 'src')), ...sourceFiles(path.join(ROOT, 'lambda-src'))]
    .filter(f => f !== QUOTAS).map(f => [f, fs.readFileSync(f, 'utf8')]));
  expect(unusedQuotas(names, files).map(n => `${n} is defined in src/core/private/quotas.ts but used nowhere in src/ or lambda-src/`)).toEqual([]);
});
