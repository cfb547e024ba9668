import { z } from 'zod/v3';
import { clip, InputError, reasonOf } from '../../../lambda-src/core/errors';
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

test('reasonOf never reads [object Object]: messages that are objects, cycles, bare objects, empty SDK errors', () => {
  const circular: Record<string, unknown> = { code: 'Boom' };
  circular.self = circular;
  const reasons = [
    reasonOf(Object.assign(new Error(), { name: 'ServiceError', message: { Code: 'Throttled' } })),
    reasonOf(new Error('[object Object]')),
    reasonOf(circular),
    reasonOf({}),
    reasonOf(null),
    reasonOf(Object.assign(new Error(''), { name: 'UnknownError', $metadata: { httpStatusCode: 503 } })),
  ];
  expect(reasons).toEqual([
    'ServiceError: {"Code":"Throttled"}',
    'Error',
    '{"code":"Boom","self":"[circular]"}',
    'a thrown object without a message',
    'a thrown null without a message',
    'UnknownError (HTTP 503)',
  ]);
  for (const reason of reasons) expect(reason).not.toContain('[object Object]');
});

test('clip keeps the head and the tail of a long text, and says how much it cut', () => {
  const text = `${'a'.repeat(3000)}${'b'.repeat(3000)}`;
  const clipped = clip(text, 1000);
  expect(clipped).toHaveLength(1000);
  expect(clipped).toMatch(/^a+\n\[\.\.\. 5\d\d\d characters cut \.\.\.\]\nb+$/);
  expect(clip('short', 1000)).toBe('short');
});
