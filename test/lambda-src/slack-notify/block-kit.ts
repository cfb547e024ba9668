/**
 * Checks a payload against the Block Kit rules an incoming webhook enforces for the blocks the
 * notifier uses (types, required fields, length limits, link syntax), returning every problem.
 */
export function blockKitProblems(payload: any): string[] {
  const problems: string[] = [];
  const text = (where: string, t: any, max: number, type?: string) => {
    if (!t || typeof t.text !== 'string' || !t.text) return problems.push(`${where}: missing text`);
    if (type && t.type !== type) problems.push(`${where}: type ${t.type}, expected ${type}`);
    if (!['plain_text', 'mrkdwn'].includes(t.type)) problems.push(`${where}: unknown text type ${t.type}`);
    if (t.text.length > max) problems.push(`${where}: ${t.text.length} characters, over ${max}`);
    if (t.type === 'mrkdwn') {
      for (const link of t.text.match(/<[^>]*>/g) ?? []) {
        if (!/^<(https:\/\/[^|\s]+(\|[^|]+)?|!date\^\d+\^[^|]+\|[^|]+)>$/.test(link)) problems.push(`${where}: malformed link ${link}`);
      }
      if (/<(?![h!])/.test(t.text)) problems.push(`${where}: unescaped <`);
    }
    return undefined;
  };
  if (typeof payload?.text !== 'string' || !payload.text) problems.push('text: missing (notifications show it)');
  if (!Array.isArray(payload?.blocks) || payload.blocks.length === 0 || payload.blocks.length > 50) problems.push('blocks: must be 1 to 50');
  (payload?.blocks ?? []).forEach((block: any, i: number) => {
    const where = `blocks[${i}] (${block.type})`;
    switch (block.type) {
      case 'header': text(where, block.text, 150, 'plain_text'); break;
      case 'section':
        if (!block.text && !block.fields) problems.push(`${where}: needs text or fields`);
        if (block.text) text(where, block.text, 3000);
        if (block.fields) {
          if (block.fields.length > 10) problems.push(`${where}: more than 10 fields`);
          block.fields.forEach((f: any, j: number) => text(`${where}.fields[${j}]`, f, 2000));
        }
        break;
      case 'context':
        if (!block.elements?.length || block.elements.length > 10) problems.push(`${where}: 1 to 10 elements`);
        block.elements?.forEach((e: any, j: number) => text(`${where}.elements[${j}]`, e, 3000));
        break;
      default: problems.push(`${where}: block type the notifier does not use`);
    }
  });
  return problems;
}

/** All the text of a payload's blocks, for assertions. */
export function allText(payload: any): string {
  return (payload.blocks as any[])
    .flatMap(b => [b.text?.text, ...(b.fields ?? []).map((f: any) => f.text), ...(b.elements ?? []).map((e: any) => e.text)])
    .filter(Boolean).join('\n');
}
