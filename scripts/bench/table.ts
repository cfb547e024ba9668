/**
 * A table as Markdown (it reads as a table in a terminal too), with notes under it. The first
 * column and those in `leftColumns` are left-aligned, the others (figures) right-aligned.
 */
export function table(title: string, header: string[], rows: string[][], notes: string[] = [], leftColumns: number[] = []): string {
  const left = (i: number) => i === 0 || leftColumns.includes(i);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (left(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (left(i) ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [`### ${title}`, '', line(header), rule, ...rows.map(line), ...(notes.length ? ['', ...notes] : []), ''].join('\n');
}

export function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export const kib = (bytes: number) => (bytes / 1024).toFixed(0);
