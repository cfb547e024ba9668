import { z } from 'zod/v3';
import { InputError } from './errors';

/** Formats a zod issue path as `a.b[0].c`. */
function pathOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) =>
    typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key), '');
}

/**
 * Validates run-time input against a schema. On failure throws an InputError that names `what`
 * and every problem found, e.g. "parameters file is invalid: `targets[0]`: expected string".
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map(issue => {
    const where = pathOf(issue.path);
    return where ? `\`${where}\`: ${issue.message}` : issue.message;
  });
  throw new InputError(`${what} is invalid: ${problems.join('; ')}`);
}

/** Parses JSON text, throwing an InputError that names `what` when it is malformed. */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}
