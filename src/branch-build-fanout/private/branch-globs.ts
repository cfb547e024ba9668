/*
 * Branch globs: `feature/*` includes, `!main` excludes. `*` matches any run of characters (`/`
 * included), `?` one character, `[...]` one character of a set (`[!...]` of its complement).
 * Pure code without imports: the construct compiles the globs into the EventBridge pattern, and the
 * intake function (lambda-src) matches the same globs in code.
 */

/** One glob of `branches`, parsed. */
export interface BranchGlob {
  readonly text: string;
  readonly exclude: boolean;
  /** The glob without its `!`. */
  readonly pattern: string;
  /** Whether it uses `?` or `[...]`, which EventBridge patterns cannot express. */
  readonly needsCode: boolean;
}

export function parseGlob(text: string): BranchGlob {
  const exclude = text.startsWith('!');
  const pattern = exclude ? text.slice(1) : text;
  return { text, exclude, pattern, needsCode: /[?[]/.test(pattern) };
}

/** The glob as a regular expression over a whole branch name. */
export function globRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      source += '.*';
    } else if (c === '?') {
      source += '.';
    } else if (c === '[' && pattern.indexOf(']', i + 2) > i) {
      const end = pattern.indexOf(']', i + 2);
      const body = pattern.slice(i + 1, end);
      const negated = body.startsWith('!');
      const chars = (negated ? body.slice(1) : body).replace(/[\\\]^]/g, m => `\\${m}`);
      source += `[${negated ? '^' : ''}${chars}]`;
      i = end;
    } else {
      source += c.replace(/[.*+?^${}()|[\]\\/]/g, m => `\\${m}`);
    }
  }
  return new RegExp(`^${source}$`, 's');
}

/**
 * Whether a branch passes the globs: it matches an include (or there is none) and no exclude.
 */
export function branchMatches(globs: readonly string[], branch: string): boolean {
  const parsed = globs.map(parseGlob);
  const includes = parsed.filter(g => !g.exclude);
  const included = includes.length === 0 || includes.some(g => globRegExp(g.pattern).test(branch));
  return included && !parsed.some(g => g.exclude && globRegExp(g.pattern).test(branch));
}
