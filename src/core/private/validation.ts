import { Duration, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/*
 * Synth-time props validation. Every check skips unresolved tokens (the value is only known at
 * deploy time) and throws an Error whose message reads "`prop` must ..., got: value".
 */

function describe(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}

/** Throws "`name` must <requirement>, got: <value>". */
export function invalid(name: string, requirement: string, value: unknown): never {
  throw new Error(`\`${name}\` must ${requirement}, got: ${describe(value)}`);
}

export function requireNonEmptyArray<T>(name: string, value: readonly T[] | undefined): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (value.length === 0) throw new Error(`\`${name}\` must not be empty`);
}

export function requireNonEmptyString(name: string, value: string | undefined): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (value.trim() === '') invalid(name, 'not be empty', value);
}

export function requireMatch(name: string, value: string | undefined, pattern: RegExp, requirement: string): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!pattern.test(value)) invalid(name, requirement, value);
}

export function requireIntegerInRange(name: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) invalid(name, `be an integer from ${min} to ${max}`, value);
}

export function requireDurationInRange(name: string, value: Duration | undefined, min: Duration, max: Duration): void {
  if (value === undefined || value.isUnresolved()) return;
  const seconds = value.toSeconds();
  if (seconds < min.toSeconds() || seconds > max.toSeconds()) {
    invalid(name, `be from ${min.toHumanString()} to ${max.toHumanString()}`, value.toHumanString());
  }
}

export function requireExactlyOne(names: string[], values: unknown[]): void {
  const given = values.filter(v => v !== undefined).length;
  if (given !== 1) throw new Error(`exactly one of ${names.map(n => `\`${n}\``).join(', ')} must be set, got: ${given}`);
}

/**
 * Runs a construct's props validation so that its errors name the construct and its path, e.g.
 * "VmCommandStage at Pipelines/VmTests: `commands` must not be empty, got: []".
 */
export function validateProps<T>(construct: IConstruct, constructName: string, validate: () => T): T {
  try {
    return validate();
  } catch (err) {
    if (err instanceof Error) err.message = `${constructName} at ${construct.node.path}: ${err.message}`;
    throw err;
  }
}
