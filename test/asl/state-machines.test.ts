/*
 * Every state machine of the weight stacks and the example app validated by asl-validator (the
 * Amazon States Language's JSON schemas, and the syntax of its paths), its definition resolved from
 * the template with the emulator's TemplateResolver (placeholder names and ARNs for intrinsics).
 */
import { TemplateResolver } from '../emulator/template-resolver';
import { checkedTemplates } from '../iam/stacks';

// asl-validator ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator: (definition: unknown) => { isValid: boolean; errorsText: (separator: string) => string } = require('asl-validator');

function validate(definition: unknown): string[] {
  const { isValid, errorsText } = aslValidator(definition);
  return isValid ? [] : [errorsText('; ')];
}

describe('asl-validator', () => {
  test('rejects a broken definition', () => {
    const valid = { StartAt: 'Wait', States: { Wait: { Type: 'Wait', Seconds: 1, Next: 'Done' }, Done: { Type: 'Succeed' } } };
    expect(validate(valid)).toEqual([]);
    // A state without a Type, a Next to a state that does not exist, and a malformed path.
    expect(validate({ StartAt: 'Wait', States: { Wait: { Seconds: 1, End: true } } })).not.toEqual([]);
    expect(validate({ ...valid, States: { ...valid.States, Wait: { Type: 'Wait', Seconds: 1, Next: 'Missing' } } })).not.toEqual([]);
    expect(validate({ ...valid, States: { ...valid.States, Wait: { Type: 'Wait', SecondsPath: 'not a path', Next: 'Done' } } })).not.toEqual([]);
  });
});

describe('the state machines of the weight stacks and the example app', () => {
  let machines: Array<{ name: string; definition: unknown }>;

  beforeAll(() => {
    machines = checkedTemplates().flatMap(({ name, template }) => {
      const resolver = new TemplateResolver(template, 'us-east-1');
      return resolver.logicalIdsOfType('AWS::StepFunctions::StateMachine')
        .map(id => ({ name: `${name} ${id}`, definition: JSON.parse(resolver.stateMachine(id).definition) }));
    });
    console.log(`asl-validator: ${machines.length} state machines`);
  });

  test('every construct with a state machine is covered', () => {
    // VmCommandStage and AmiRefreshStage: two each in their weight stacks, one each with the options, and the example's three VM stages and one AMI stage.
    expect(machines.length).toBe(10);
  });

  test('every definition is valid Amazon States Language', () => {
    const invalid = machines.map(m => ({ name: m.name, errors: validate(m.definition) })).filter(m => m.errors.length);
    expect(invalid.map(m => `${m.name}: ${m.errors.join('; ')}`).join('\n')).toBe('');
  });
});
