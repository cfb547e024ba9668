/*
 * Reads a state machine's Amazon States Language definition out of a synthesized template: its
 * states, the transitions between them and what each task calls.
 */

export interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly Default?: string;
  readonly Resource?: string;
  readonly Parameters?: unknown;
  readonly Arguments?: unknown;
  readonly Choices?: any[];
  readonly Catch?: Array<{ ErrorEquals: string[]; Next: string }>;
  readonly Branches?: AslMachine[];
  readonly ItemProcessor?: AslMachine;
  readonly Iterator?: AslMachine;
}

export interface AslMachine {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
}

export type Transition =
  | { readonly kind: 'next' | 'default'; readonly next: string }
  | { readonly kind: 'choice'; readonly next: string; readonly rule: any }
  | { readonly kind: 'catch'; readonly next: string; readonly label: string };

export interface TaskCall {
  /** `lambda`, or the service of an SDK or optimized integration (`ec2`, `dynamodb`). */
  readonly service: string;
  /** `lambda:invoke`, `ec2:describeImages`, `dynamodb:putItem.waitForTaskToken` */
  readonly action: string;
  /** Logical ids the task's resource and parameters name, as `${LogicalId}` placeholders. */
  readonly references: string[];
}

/**
 * The definition with each Ref and Fn::GetAtt replaced by a `${LogicalId}` or
 * `${LogicalId.Attribute}` placeholder (pseudo parameters by `${AWS::Partition}`), parsed.
 */
export function resolveDefinition(definitionString: unknown): AslMachine {
  const placeholder = (part: any): string => {
    if (typeof part === 'string') return part;
    if (part?.Ref) return `\${${part.Ref}}`;
    if (part?.['Fn::GetAtt']) return `\${${part['Fn::GetAtt'].join('.')}}`;
    throw new Error(`cannot resolve ${JSON.stringify(part)} in a state machine definition`);
  };
  if (typeof definitionString === 'string') return JSON.parse(definitionString);
  const join = (definitionString as any)?.['Fn::Join'];
  if (!join) throw new Error(`DefinitionString is neither a string nor an Fn::Join: ${JSON.stringify(definitionString).slice(0, 200)}`);
  return JSON.parse(join[1].map(placeholder).join(join[0]));
}

function errorLabel(errors: string[]): string {
  if (errors.includes('States.ALL')) return 'error';
  if (errors.length === 1 && errors[0] === 'States.Timeout') return 'timeout';
  return errors.join(', ');
}

/** Where a state can go next: Next, each Choice rule, the Choice default, each Catch. */
export function transitionsOf(state: AslState): Transition[] {
  const transitions: Transition[] = [];
  if (state.Next) transitions.push({ kind: 'next', next: state.Next });
  for (const rule of state.Choices ?? []) transitions.push({ kind: 'choice', next: rule.Next, rule });
  if (state.Default) transitions.push({ kind: 'default', next: state.Default });
  for (const c of state.Catch ?? []) transitions.push({ kind: 'catch', next: c.Next, label: errorLabel(c.ErrorEquals) });
  return transitions;
}

/** What a Task state calls: a function (by ARN or the lambda:invoke integration) or an AWS API. */
export function describeTask(state: AslState): TaskCall {
  const resource = state.Resource ?? '';
  const references = [...JSON.stringify([resource, state.Parameters ?? state.Arguments ?? {}])
    .matchAll(/\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}/g)].map(m => m[1]).filter(id => id !== 'AWS');
  const integration = /:states:::(?:aws-sdk:)?([a-z0-9-]+):(.+)$/.exec(resource);
  if (integration) {
    const [, service, action] = integration;
    return { service, action: `${service}:${action}`, references: [...new Set(references)] };
  }
  return { service: 'lambda', action: 'lambda:invoke', references: [...new Set(references)] };
}

const OPERATORS: Array<[RegExp, string]> = [
  [/GreaterThanEquals/, '>='], [/LessThanEquals/, '<='], [/GreaterThan/, '>'], [/LessThan/, '<'],
  [/Equals/, '='], [/Matches/, '~'], [/^Is/, 'is'],
];

function lastSegment(path: string): string {
  return path.replace(/^\$\$?\.?/, '').split('.').pop() ?? path;
}

function comparison(rule: any): { variable: string; operator: string; value: string } | undefined {
  const key = Object.keys(rule).find(k => k !== 'Variable' && k !== 'Next');
  if (!rule.Variable || !key) return undefined;
  const operator = OPERATORS.find(([pattern]) => pattern.test(key))?.[1] ?? key;
  const value = key.endsWith('Path') ? lastSegment(String(rule[key])) : operator === 'is' ? `${key.slice(2)} ${rule[key]}` : String(rule[key]);
  return { variable: lastSegment(rule.Variable), operator, value };
}

/** A Choice rule in a few words: `done = true`, `State = failed | invalid | error`. */
export function describeChoice(rule: any): string {
  if (typeof rule.Condition === 'string') return rule.Condition.length > 40 ? `${rule.Condition.slice(0, 39)}…` : rule.Condition;
  const single = comparison(rule);
  if (single) return `${single.variable} ${single.operator} ${single.value}`;
  const parts = (rule.Or ?? rule.And ?? []).map(comparison);
  if (rule.Or && parts.length > 0 && parts.every((p: any) => p && p.variable === parts[0].variable && p.operator === parts[0].operator)) {
    return `${parts[0].variable} ${parts[0].operator} ${parts.map((p: any) => p.value).join(' | ')}`;
  }
  return rule.Not ? 'not (…)' : rule.And ? 'all of (…)' : 'any of (…)';
}
