import { z } from 'zod/v3';
import { InputError, reasonOf } from '../../../lambda-src/core/errors';
import { parseInput, parseJson } from '../../../lambda-src/core/input';

const schema = z.strictObject({ targets: z.array(z.string()), nested: z.object({ retries: z.number() }).optional() });

test('returns the parsed value when it is valid', () => {
  expect(parseInput(schema, { targets: ['i-1'] }, 'parameters file')).toEqual({ targets: ['i-1'] });
});

test('names every problem with its path', () => {
  const err = (() => {
    try {
      parseInput(schema, { targets: ['i-1', 2], nested: { retries: 'x' }, extra: true }, 'parameters file');
    } catch (e) { return e as Error; }
    throw new Error('expected a throw');
  })();
  expect(err).toBeInstanceOf(InputError);
  expect(err.message).toMatch(/^parameters file is invalid: /);
  expect(err.message).toContain('`targets[1]`: ');
  expect(err.message).toContain('`nested.retries`: ');
  expect(err.message).toMatch(/extra/);
});

test('a problem at the top level has no path', () => {
  expect(() => parseInput(schema, 'text', 'event')).toThrow(/^event is invalid: [^`]+$/);
});

test('parseJson names malformed JSON', () => {
  expect(parseJson('{"a":1}', 'params.json')).toEqual({ a: 1 });
  expect(() => parseJson('{"a":', 'params.json')).toThrow(/^params.json is not valid JSON: /);
});

test('reasonOf', () => {
  expect(reasonOf(new InputError('bad file'))).toBe('bad file');
  expect(reasonOf(new RangeError('too big'))).toBe('RangeError: too big');
  expect(reasonOf(42)).toBe('42');
});
