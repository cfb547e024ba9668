import { BranchGlob, globRegExp, parseGlob } from './branch-globs';
import { invalid } from '../../core/private/validation';

/** A glob as EventBridge can match it: an exact name, a prefix, a suffix or a wildcard. */
type Matcher = string | { prefix: string } | { suffix: string } | { wildcard: string };

/** What the globs become: conditions of the rule's `detail`, and the globs only the intake function can apply. */
export interface CompiledBranches {
  readonly detail: { [field: string]: unknown[] };
  readonly filteredInCode: string[];
}

/** CodeCommit's full name of a branch reference. */
const HEADS = 'refs/heads/';
const MAX_GLOBS = 50;

function matcher(pattern: string): Matcher | undefined {
  const stars = (pattern.match(/\*/g) ?? []).length;
  if (pattern === '*') return undefined;
  if (stars === 0) return pattern;
  if (stars === 1 && pattern.endsWith('*')) return { prefix: pattern.slice(0, -1) };
  if (stars === 1 && pattern.startsWith('*')) return { suffix: pattern.slice(1) };
  return { wildcard: pattern };
}

/** The glob with `?` and `[...]` widened to `*` (what the rule can match), consecutive stars collapsed. */
function widened(glob: BranchGlob): string {
  return glob.pattern.replace(/\[[^\]]+\]|\?/g, '*').replace(/\*+/g, '*');
}

function validate(globs: string[]): BranchGlob[] {
  if (globs.length === 0) throw new Error('`branches` must not be empty');
  if (globs.length > MAX_GLOBS) invalid('branches', `hold at most ${MAX_GLOBS} globs`, globs.length);
  const parsed = globs.map((text, i) => {
    const glob = parseGlob(text);
    if (glob.pattern.trim() === '' || /\s/.test(glob.pattern)) invalid(`branches[${i}]`, 'be a glob such as \'feature/*\' or \'!main\'', text);
    if (/[{}]/.test(glob.pattern)) {
      invalid(`branches[${i}]`, 'not use braces: EventBridge cannot express `{a,b}` alternatives; give each alternative as a glob of its own', text);
    }
    if (/[\\~^:]|\.\.|@\{/.test(glob.pattern)) invalid(`branches[${i}]`, 'only use characters git allows in branch names, with `*`, `?` and `[...]`', text);
    return glob;
  });
  const includes = parsed.filter(g => !g.exclude);
  const excludes = parsed.filter(g => g.exclude);
  const everything = excludes.find(g => widened(g) === '*' && !g.needsCode);
  if (everything) invalid('branches', `match at least one branch, but '${everything.text}' excludes every branch`, globs);
  const literals = includes.filter(g => !/[*?[]/.test(g.pattern));
  if (includes.length && literals.length === includes.length
    && literals.every(g => excludes.some(x => globRegExp(x.pattern).test(g.pattern)))) {
    invalid('branches', 'match at least one branch, but every included branch is also excluded', globs);
  }
  return parsed;
}

/**
 * Compiles `branches` into conditions on the CodeCommit event's `detail`: includes on
 * `referenceName` (exact, prefix, suffix or wildcard; one of them suffices), excludes as one
 * `anything-but` on `referenceFullName` (a second field, so that both conditions must hold).
 * `?` and `[...]` widen to `*` in the pattern, and the intake function applies the exact globs.
 * Several excludes that are not all exact names cannot be one `anything-but`: they are applied in
 * code only.
 */
export function compileBranches(globs: string[]): CompiledBranches {
  const parsed = validate(globs);
  const detail: { [field: string]: unknown[] } = {};
  const filteredInCode = parsed.filter(g => g.needsCode).map(g => g.text);

  const includes = parsed.filter(g => !g.exclude).map(g => matcher(widened(g)));
  if (includes.length && !includes.includes(undefined)) detail.referenceName = unique(includes as Matcher[]);

  const excludes = parsed.filter(g => g.exclude && !g.needsCode).map(g => matcher(widened(g))!);
  if (excludes.every(x => typeof x === 'string') && excludes.length) {
    detail.referenceFullName = [{ 'anything-but': unique(excludes.map(x => `${HEADS}${x}`)) }];
  } else if (excludes.length === 1) {
    detail.referenceFullName = [{ 'anything-but': fullName(excludes[0]) }];
  } else {
    filteredInCode.push(...parsed.filter(g => g.exclude && !g.needsCode).map(g => g.text));
  }
  return { detail, filteredInCode };
}

function fullName(x: Matcher): Matcher {
  if (typeof x === 'string') return `${HEADS}${x}`;
  if ('prefix' in x) return { prefix: `${HEADS}${x.prefix}` };
  if ('wildcard' in x) return { wildcard: `${HEADS}${x.wildcard}` };
  return x;
}

function unique<T>(values: T[]): T[] {
  const seen = new Set<string>();
  return values.filter(v => {
    const key = JSON.stringify(v);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
