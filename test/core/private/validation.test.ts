import { Duration, Lazy, Token } from 'aws-cdk-lib';
import {
  invalid, requireDurationInRange, requireExactlyOne, requireIntegerInRange, requireMatch,
  requireNonEmptyArray, requireNonEmptyString,
} from '../../../src/core/private/validation';

const token = Token.asString(Lazy.string({ produce: () => 'x' }));

test('invalid names the prop, the requirement and the value', () => {
  expect(() => invalid('timeout', 'be positive', -1)).toThrow('`timeout` must be positive, got: -1');
  expect(() => invalid('name', 'be short', 'abc')).toThrow("`name` must be short, got: 'abc'");
});

test('requireNonEmptyArray', () => {
  expect(() => requireNonEmptyArray('commands', [])).toThrow('`commands` must not be empty');
  expect(() => requireNonEmptyArray('commands', ['ls'])).not.toThrow();
  expect(() => requireNonEmptyArray('commands', undefined)).not.toThrow();
  expect(() => requireNonEmptyArray('commands', Token.asList(Lazy.list({ produce: () => [] })))).not.toThrow();
});

test('requireNonEmptyString', () => {
  expect(() => requireNonEmptyString('text', '  ')).toThrow("`text` must not be empty, got: '  '");
  expect(() => requireNonEmptyString('text', 'hi')).not.toThrow();
  expect(() => requireNonEmptyString('text', token)).not.toThrow();
});

test('requireMatch', () => {
  expect(() => requireMatch('id', 'x-1', /^i-[0-9a-f]+$/, 'be an instance id')).toThrow("`id` must be an instance id, got: 'x-1'");
  expect(() => requireMatch('id', 'i-0abc', /^i-[0-9a-f]+$/, 'be an instance id')).not.toThrow();
  expect(() => requireMatch('id', token, /^i-$/, 'be an instance id')).not.toThrow();
});

test('requireIntegerInRange', () => {
  expect(() => requireIntegerInRange('n', 0, 1, 5)).toThrow('`n` must be an integer from 1 to 5, got: 0');
  expect(() => requireIntegerInRange('n', 2.5, 1, 5)).toThrow('got: 2.5');
  expect(() => requireIntegerInRange('n', 5, 1, 5)).not.toThrow();
  expect(() => requireIntegerInRange('n', Token.asNumber(Lazy.number({ produce: () => 0 })), 1, 5)).not.toThrow();
});

test('requireDurationInRange', () => {
  expect(() => requireDurationInRange('timeout', Duration.seconds(5), Duration.seconds(30), Duration.hours(48)))
    .toThrow("`timeout` must be from 30 seconds to 2 days, got: '5 seconds'");
  expect(() => requireDurationInRange('timeout', Duration.minutes(5), Duration.seconds(30), Duration.hours(48))).not.toThrow();
  expect(() => requireDurationInRange('timeout', Duration.seconds(Token.asNumber(Lazy.number({ produce: () => 1 }))), Duration.seconds(30), Duration.hours(1))).not.toThrow();
});

test('requireExactlyOne', () => {
  expect(() => requireExactlyOne(['a', 'b'], [undefined, undefined])).toThrow('exactly one of `a`, `b` must be set, got: 0');
  expect(() => requireExactlyOne(['a', 'b'], [1, 2])).toThrow('got: 2');
  expect(() => requireExactlyOne(['a', 'b'], [1, undefined])).not.toThrow();
});
