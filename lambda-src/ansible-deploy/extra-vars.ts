/*
 * The extra vars file ansible-playbook reads (`--extra-vars @file`), in YAML flow style. Every
 * string that came from the run (a CodePipeline variable, the parameters file) carries the
 * `!unsafe` tag: ansible never templates it, so a `{{ ... }}` in it arrives as text and runs nothing
 * (Ansible docs, "Advanced playbook syntax: Unsafe or raw strings", supported since Ansible 2.0).
 * A JSON file would be read as templates. The stage's own `extraVars` (the CDK app's, like the
 * playbook) stay templates.
 */

/** A YAML double-quoted scalar holding only printable ASCII: every other character is escaped. */
function quoted(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === '"' || char === '\\') out += `\\${char}`;
    else if (code >= 0x20 && code <= 0x7e) out += char;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/** A JSON number as YAML 1.1 (PyYAML) reads it: a float's exponent needs a dot before it. */
function number(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`extra var value ${value} is not a JSON number`);
  const text = String(value);
  return /e/.test(text) && !/\./.test(text) ? text.replace('e', '.0e') : text;
}

/** One JSON value in YAML flow style; strings (and map keys) tagged `!unsafe` when `unsafe`. */
export function yamlValue(value: unknown, unsafe: boolean): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `${unsafe ? '!unsafe ' : ''}${quoted(value)}`;
  if (typeof value === 'number') return number(value);
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(v => yamlValue(v, unsafe)).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${yamlValue(k, unsafe)}: ${yamlValue(v, unsafe)}`).join(', ')}}`;
  }
  throw new Error(`extra var value of type ${typeof value} is not JSON`);
}

/**
 * The extra vars document: `trusted` (templates allowed) then `data` (every string unsafe); a name
 * in both takes its `data` value.
 */
export function extraVarsYaml(trusted: Record<string, unknown>, data: Record<string, unknown>): string {
  const entries = [
    ...Object.entries(trusted).filter(([name]) => !Object.hasOwn(data, name)).map(([name, value]) => `${quoted(name)}: ${yamlValue(value, false)}`),
    ...Object.entries(data).map(([name, value]) => `${quoted(name)}: ${yamlValue(value, true)}`),
  ];
  return `{${entries.join(',\n ')}}\n`;
}
