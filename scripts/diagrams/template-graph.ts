/*
 * Turns a synthesized CloudFormation template into a Graphviz diagram of one construct: the
 * resources it deploys (grouped by the construct scope that owns them) and how a run flows
 * between them. Everything drawn comes from the template: references between resources, rule
 * patterns and targets, event source mappings, the IAM statements of each role (which name the
 * AWS services a function calls), pipeline actions, and the state machine's ASL definition.
 * Roles, policies, log groups, permissions and resource policies are folded into the resource
 * they serve, so that the picture shows what a user needs to understand, not every resource.
 */
import { AslState, describeChoice, describeTask, resolveDefinition, transitionsOf } from './asl';

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: any;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
}

export interface DiagramScope {
  /** Construct path, relative to the stack, of a scope the construct owns resources under. */
  readonly path: string;
  /** What the scope is, for the cluster's caption. */
  readonly caption: string;
}

export interface DiagramInput {
  readonly title: string;
  readonly template: CfnTemplate;
  /** Construct path of each resource, relative to the stack (without the trailing `/Resource`). */
  readonly paths: Record<string, string>;
  readonly scopes: DiagramScope[];
}

/** Resources drawn inside their owner's node (role, policies, log group) or as an edge. */
const FOLDED_TYPES = new Set([
  'AWS::IAM::Role', 'AWS::IAM::Policy', 'AWS::Lambda::Permission', 'AWS::Lambda::EventInvokeConfig',
  'AWS::Lambda::EventSourceMapping', 'AWS::SQS::QueuePolicy', 'AWS::S3::BucketPolicy', 'AWS::KMS::Alias',
]);
/** From this many states catching into the same state on, the catches are a note on that state. */
const COLLAPSED_CATCHES = 3;
/** IAM action prefixes that are plumbing of every function or state machine (its logs and traces). */
const PLUMBING_ACTIONS = new Set(['logs', 'xray']);

const SERVICE_NAMES: Record<string, string> = {
  autoscaling: 'EC2 Auto Scaling',
  codebuild: 'CodeBuild',
  codecommit: 'CodeCommit',
  codepipeline: 'CodePipeline',
  dynamodb: 'DynamoDB',
  ec2: 'EC2',
  events: 'EventBridge',
  kms: 'KMS',
  lambda: 'Lambda',
  s3: 'S3',
  secretsmanager: 'Secrets Manager',
  sqs: 'SQS',
  ssm: 'Systems Manager',
  states: 'Step Functions',
};

type EdgeKind = 'call' | 'event' | 'failure' | 'metric' | 'reference';
const LEGEND: Record<EdgeKind, string> = {
  call: 'black: calls (IAM statements, state machine tasks, pipeline actions)',
  event: 'blue: events (EventBridge rules and their targets, queue polling)',
  failure: 'dashed: failure paths (caught errors, dead-letter queues)',
  metric: 'dotted: the metric an alarm watches',
  reference: 'dotted, no arrow: a resource named in a task\'s input',
};
const EDGE_STYLES: Record<EdgeKind, string> = {
  call: 'color="#333333"',
  event: 'color="#1f6fb2", fontcolor="#1f6fb2", penwidth=1.4',
  failure: 'color="#999999", fontcolor="#777777", style=dashed',
  metric: 'color="#999999", fontcolor="#777777", style=dotted',
  reference: 'color="#999999", fontcolor="#777777", style=dotted, arrowhead=none',
};

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly kind: EdgeKind;
  readonly labels: Set<string>;
}

/** Logical ids referenced (Ref or Fn::GetAtt, also inside ${...} placeholders) anywhere in a value. */
export function referencesIn(value: unknown): string[] {
  const found = new Set<string>();
  const visit = (v: unknown) => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (typeof v === 'string') {
      for (const m of v.matchAll(/\$\{([A-Za-z0-9]+)(?:\.[A-Za-z.]+)?\}/g)) found.add(m[1]);
      return;
    }
    if (v === null || typeof v !== 'object') return;
    for (const [key, inner] of Object.entries(v)) {
      if (key === 'Ref' && typeof inner === 'string') found.add(inner);
      else if (key === 'Fn::GetAtt' && Array.isArray(inner)) found.add(String(inner[0]));
      else visit(inner);
    }
  };
  visit(value);
  return [...found].filter(id => !id.startsWith('AWS::')).sort();
}

/** `Vm1/StateMachine` -> `Vm1_StateMachine`: a Graphviz id without the logical id's hash. */
function nodeId(path: string): string {
  return path.replace(/[^A-Za-z0-9]+/g, '_');
}

function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** Breaks text into lines of at most `width` characters at spaces or after commas. */
export function wrap(text: string, width = 38): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.join('\n');
}

/** `AWS::DynamoDB::Table` -> `DynamoDB table` */
function friendlyType(type: string): string {
  const [, service, kind] = type.split('::');
  return `${service} ${kind.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()}`;
}

/** The IAM action prefix of a resource type's service: `AWS::StepFunctions::StateMachine` -> `states`. */
function iamPrefixOf(type: string): string {
  const service = type.split('::')[1].toLowerCase();
  return service === 'stepfunctions' ? 'states' : service;
}

function serviceName(prefix: string): string {
  return SERVICE_NAMES[prefix] ?? prefix;
}

/** Groups `service:Action` names by service: `ssm: CancelCommand, SendCommand`. */
export function describeActions(actions: Iterable<string>, omitPrefix?: string): string {
  const byService = new Map<string, string[]>();
  for (const action of [...new Set(actions)].sort()) {
    const [service, name] = action.split(':');
    byService.set(service, [...byService.get(service) ?? [], name]);
  }
  return [...byService].map(([service, names]) => wrap(service === omitPrefix ? names.join(', ') : `${service}: ${names.join(', ')}`, 28)).join('\n');
}

function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** What a rule's pattern matches, in a line or two: its detail types and the detail values it filters on. */
function describePattern(pattern: any): string {
  const parts = [commonPrefixed(asArray<string>(pattern['detail-type']))].filter(p => p);
  const filters = (detail: Record<string, unknown>, prefix: string): void => {
    for (const [key, values] of Object.entries(detail)) {
      if (Array.isArray(values) && values.every(v => typeof v === 'string')) parts.push(`${prefix}${key}: ${values.join(', ')}`);
      else if (values && typeof values === 'object' && !Array.isArray(values)) filters(values as Record<string, unknown>, `${prefix}${key}.`);
    }
  };
  filters(pattern.detail ?? {}, '');
  return parts.map(p => wrap(p, 44)).join('\n');
}

/** `['A B C', 'A B D']` -> `A B: C, D` (the words every text starts with, once). */
export function commonPrefixed(texts: string[]): string {
  if (texts.length < 2) return texts.join('');
  const words = texts.map(t => t.split(' '));
  let n = 0;
  while (words.every(w => w.length > n + 1 && w[n] === words[0][n])) n++;
  return n === 0 ? texts.join(', ') : `${words[0].slice(0, n).join(' ')}: ${words.map(w => w.slice(n).join(' ')).join(', ')}`;
}

export class TemplateGraph {
  private readonly resources: Record<string, CfnResource>;
  private readonly owned = new Map<string, DiagramScope>();
  /** Folded resource -> the shown resource it belongs to. */
  private readonly foldedInto = new Map<string, string>();
  private readonly folded = new Map<string, string[]>();
  private readonly shown = new Set<string>();
  private readonly services = new Set<string>();
  private readonly edges = new Map<string, Edge>();
  /** Pipeline -> its stages that hold the construct's actions, as `stage S: A -> B`. */
  private readonly pipelineStages = new Map<string, string[]>();

  constructor(private readonly input: DiagramInput) {
    this.resources = input.template.Resources;
    for (const id of Object.keys(this.resources).sort()) {
      const scope = input.scopes.find(s => this.pathOf(id) === s.path || this.pathOf(id).startsWith(`${s.path}/`));
      if (scope) this.owned.set(id, scope);
    }
    this.foldPlumbing();
    for (const id of this.owned.keys()) if (!this.isFolded(id)) this.shown.add(id);
    this.addPipelineActions();
    this.addRules();
    this.addFoldedEdges();
    this.addIamEdges();
    this.addAlarms();
  }

  /** The diagram in Graphviz's dot language, with nodes and edges in a stable order. */
  public toDot(): string {
    const lines = [
      `digraph ${quote(this.input.title)} {`,
      '  graph [rankdir=TB, fontname="Helvetica", fontsize=12, nodesep=0.2, ranksep=0.45, newrank=true,',
      `         labelloc=t, label=${quote(`${this.input.title}: what it deploys and how a run flows (generated from the synthesized template)`)}];`,
      '  node [fontname="Helvetica", fontsize=10, shape=box, style="rounded,filled", fillcolor="#ffffff", color="#555555"];',
      '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.7];',
    ];
    for (const scope of this.input.scopes) {
      const ids = [...this.shown].filter(id => this.owned.get(id) === scope).sort();
      lines.push(`  subgraph ${quote(`cluster_${nodeId(scope.path)}`)} {`,
        `    label=${quote(`${scope.caption} (${scope.path})`)}; style="rounded,filled"; fillcolor="#f4f6f8"; color="#9aa5b1";`);
      for (const id of ids) lines.push(...this.renderOwned(id).map(l => `    ${l}`));
      lines.push('  }');
    }
    for (const id of [...this.shown].filter(shown => !this.owned.has(shown)).sort()) {
      lines.push(`  ${nodeId(this.pathOf(id))} [label=${quote(this.externalLabel(id))}, fillcolor="#e9ecef", style="rounded,filled,dashed"];`);
    }
    for (const prefix of [...this.services].sort()) {
      lines.push(`  ${this.serviceNode(prefix)} [label=${quote(`${serviceName(prefix)}\n(AWS service)`)}, shape=ellipse, fillcolor="#fff4e0", color="#d08a1a"];`);
    }
    const kinds = (Object.keys(LEGEND) as EdgeKind[]).filter(kind => [...this.edges.values()].some(e => e.kind === kind));
    const legend = ['Arrows', ...kinds.map(kind => LEGEND[kind])].map(line => `${line}\\l`).join('');
    lines.push(`  legend [label="${legend}", shape=note, style="filled", fillcolor="#ffffff", color="#9aa5b1", fontsize=9];`);
    // The pipeline starts a run: it is at the top, with the legend.
    const pipelines = this.pipelineNodes();
    lines.push(`  { rank=min; ${[...pipelines, 'legend'].join('; ')}; }`);
    const backEdges = this.backEdges();
    for (const edge of this.sortedEdges()) {
      const label = [...edge.labels].sort().join('\n');
      // Edges back toward the start of a run (results, events back, loops) and failure paths do not shape the layout.
      const loose = edge.kind === 'failure' || backEdges.has(edge) ? ', constraint=false' : '';
      lines.push(`  ${edge.from} -> ${edge.to} [${EDGE_STYLES[edge.kind]}${loose}${label ? `, label=${quote(label)}` : ''}];`);
    }
    lines.push('}');
    return `${lines.join('\n')}\n`;
  }

  private sortedEdges(): Edge[] {
    const order: EdgeKind[] = ['call', 'event', 'failure', 'metric', 'reference'];
    return [...this.edges.values()]
      .sort((a, b) => a.from.localeCompare(b.from) || order.indexOf(a.kind) - order.indexOf(b.kind) || a.to.localeCompare(b.to));
  }

  /**
   * The edges that close a cycle (results to the pipeline, a state machine invoking the function
   * that started it, a loop between states) when a run is followed depth first from its start (the
   * pipeline, else what nothing leads to), taking the nearest steps first: the calls from the
   * start, then the events they cause.
   */
  private backEdges(): Set<Edge> {
    const flow = this.sortedEdges().filter(e => e.kind === 'call' || e.kind === 'event');
    const nodes = [...new Set(flow.flatMap(e => [e.from, e.to]))].sort();
    const pipelines = this.pipelineNodes();
    const entries = pipelines.length > 0 ? pipelines : nodes.filter(n => !flow.some(e => e.to === n));
    const callsAway = new Map(entries.map(n => [n, 0]));
    for (let frontier = entries, level = 1; frontier.length > 0; level++) {
      frontier = [...new Set(flow.filter(e => e.kind === 'call' && frontier.includes(e.from) && !callsAway.has(e.to)).map(e => e.to))];
      for (const n of frontier) callsAway.set(n, level);
    }
    const order = (e: Edge) => callsAway.get(e.to) ?? nodes.length;
    const back = new Set<Edge>();
    const visited = new Set<string>();
    const onPath = new Set<string>();
    const visit = (node: string) => {
      visited.add(node);
      onPath.add(node);
      for (const e of flow.filter(f => f.from === node).sort((a, b) => order(a) - order(b))) {
        if (onPath.has(e.to)) back.add(e);
        else if (!visited.has(e.to)) visit(e.to);
      }
      onPath.delete(node);
    };
    for (const entry of [...entries, ...nodes]) if (!visited.has(entry)) visit(entry);
    return back;
  }

  private pipelineNodes(): string[] {
    return [...this.shown].filter(id => this.typeOf(id) === 'AWS::CodePipeline::Pipeline').map(id => this.node(id)!).sort();
  }

  private pathOf(id: string): string {
    return this.input.paths[id] ?? id;
  }

  /** The last segment of a resource's path: its construct id. */
  private nameOf(id: string): string {
    return this.pathOf(id).split('/').pop()!;
  }

  private isFolded(id: string): boolean {
    return FOLDED_TYPES.has(this.resources[id].Type) || this.foldedInto.has(id);
  }

  private typeOf(id: string): string {
    return this.resources[id].Type;
  }

  private propsOf(id: string): any {
    return this.resources[id].Properties ?? {};
  }

  /** Roles belong to what assumes them, policies to their roles' owners, log groups to what logs into them. */
  private foldPlumbing() {
    const owners = [...this.owned.keys()].filter(id => !FOLDED_TYPES.has(this.typeOf(id)) && this.typeOf(id) !== 'AWS::Logs::LogGroup');
    for (const owner of owners) {
      const props = this.propsOf(owner);
      for (const key of Object.keys(props).sort()) {
        for (const ref of referencesIn(props[key])) {
          const type = this.resources[ref]?.Type;
          const isOwnRole = type === 'AWS::IAM::Role' && /Role/.test(key) && this.owned.has(ref);
          const isOwnLogGroup = type === 'AWS::Logs::LogGroup' && /Log/.test(key) && this.owned.has(ref);
          if ((isOwnRole || isOwnLogGroup) && !this.foldedInto.has(ref)) this.fold(ref, owner, isOwnRole ? 'role' : 'log group');
        }
      }
    }
    for (const id of this.owned.keys()) {
      if (this.typeOf(id) !== 'AWS::IAM::Policy') continue;
      const owner = referencesIn(this.propsOf(id).Roles).map(role => this.foldedInto.get(role)).find(o => o !== undefined);
      if (owner) this.fold(id, owner, 'policy');
    }
  }

  private fold(id: string, owner: string, what: string) {
    this.foldedInto.set(id, owner);
    this.folded.set(owner, [...this.folded.get(owner) ?? [], what]);
  }

  /** The node id of a shown resource, showing a resource outside the construct (a pipeline, a project) on first use. */
  private node(id: string): string | undefined {
    const resource = this.resources[id];
    if (!resource) return undefined;
    const owner = this.foldedInto.get(id);
    if (owner) return this.node(owner);
    if (FOLDED_TYPES.has(resource.Type)) return undefined;
    if (!this.owned.has(id)) this.shown.add(id);
    return this.typeOf(id) === 'AWS::StepFunctions::StateMachine' ? `${nodeId(this.pathOf(id))}__machine` : nodeId(this.pathOf(id));
  }

  private serviceNode(prefix: string): string {
    this.services.add(prefix);
    return `service_${nodeId(prefix)}`;
  }

  private edge(from: string | undefined, to: string | undefined, kind: EdgeKind, label?: string) {
    // A resource naming itself (a project's report groups are named after it) is no step of a run.
    if (!from || !to || from === to) return;
    const key = `${from} ${to} ${kind}`;
    const edge = this.edges.get(key) ?? { from, to, kind, labels: new Set<string>() };
    if (label) edge.labels.add(label);
    this.edges.set(key, edge);
  }

  /** Pipeline stages with an action that runs one of the construct's resources: the pipeline's side of the flow. */
  private addPipelineActions() {
    for (const pipeline of Object.keys(this.resources).sort().filter(id => this.typeOf(id) === 'AWS::CodePipeline::Pipeline')) {
      for (const stage of asArray<any>(this.propsOf(pipeline).Stages)) {
        const actions = asArray<any>(stage.Actions);
        if (actions.some(action => referencesIn(action.Configuration).some(ref => this.owned.has(ref)))) {
          const steps = [...actions].sort((a, b) => (a.RunOrder ?? 1) - (b.RunOrder ?? 1))
            .map(a => `${a.Name} (${a.ActionTypeId.Provider} ${a.ActionTypeId.Category.toLowerCase()})`);
          this.pipelineStages.set(pipeline, [...this.pipelineStages.get(pipeline) ?? [], `stage ${stage.Name}: ${steps.join(' → ')}`]);
        }
        for (const action of actions) {
          for (const target of referencesIn(action.Configuration).filter(ref => this.owned.has(ref))) {
            const type = action.ActionTypeId;
            // FunctionName, ProjectName...: what the action runs (other settings may pass an ARN along).
            const key = Object.keys(action.Configuration).find(k => referencesIn(action.Configuration[k]).includes(target)) ?? '';
            if (!key.endsWith('Name')) continue;
            this.edge(this.node(pipeline), this.node(target), 'call', `action ${action.Name}\n(${type.Provider} ${type.Category.toLowerCase()})`);
          }
        }
      }
    }
  }

  /** Event sources -> rule -> targets; a failed delivery goes to the target's dead-letter queue. */
  private addRules() {
    for (const rule of [...this.owned.keys()].filter(id => this.typeOf(id) === 'AWS::Events::Rule')) {
      const props = this.propsOf(rule);
      if (props.EventPattern) {
        const sources = referencesIn(props.EventPattern).map(ref => this.node(ref)).filter((n): n is string => n !== undefined);
        const from = sources.length > 0 ? sources : asArray<string>(props.EventPattern.source).map(s => this.serviceNode(s.replace(/^aws\./, '')));
        for (const source of from) this.edge(source, this.node(rule), 'event', describePattern(props.EventPattern));
      }
      for (const target of asArray<any>(props.Targets)) {
        for (const ref of referencesIn(target.Arn)) this.edge(this.node(rule), this.node(ref), 'event', 'target');
        for (const ref of referencesIn(target.DeadLetterConfig)) this.edge(this.node(rule), this.node(ref), 'failure', 'undelivered events');
      }
    }
  }

  /** Event source mappings (queue -> function) and asynchronous invocations' failure destinations. */
  private addFoldedEdges() {
    for (const id of this.owned.keys()) {
      const props = this.propsOf(id);
      if (this.typeOf(id) === 'AWS::Lambda::EventSourceMapping') {
        const batch = props.BatchSize ? `batches of ${props.BatchSize}` : '';
        for (const source of referencesIn(props.EventSourceArn)) this.edge(this.node(source), this.node(referencesIn(props.FunctionName)[0]), 'event', `polls, ${batch}`.replace(/, $/, ''));
      }
      if (this.typeOf(id) === 'AWS::Lambda::EventInvokeConfig') {
        for (const destination of referencesIn(props.DestinationConfig?.OnFailure)) {
          this.edge(this.node(referencesIn(props.FunctionName)[0]), this.node(destination), 'failure', 'failed invocations');
        }
      }
    }
  }

  /**
   * What each function or project calls, from its role's policy statements: to a resource of the
   * template when the statement names one, otherwise to the AWS service. A state machine's calls
   * come from its definition instead.
   */
  private addIamEdges() {
    const calls = new Map<string, { from: string; to: string; service: string; actions: string[] }>();
    const call = (from: string | undefined, to: string | undefined, service: string, actions: string[]) => {
      if (!from || !to) return;
      const entry = calls.get(`${from} ${to}`) ?? { from, to, service, actions: [] };
      entry.actions.push(...actions);
      calls.set(`${from} ${to}`, entry);
    };
    for (const policy of [...this.owned.keys()].filter(id => this.typeOf(id) === 'AWS::IAM::Policy')) {
      const owner = this.foldedInto.get(policy);
      if (!owner || this.typeOf(owner) === 'AWS::StepFunctions::StateMachine') continue;
      for (const statement of asArray<any>(this.propsOf(policy).PolicyDocument?.Statement)) {
        const actions = asArray<string>(statement.Action).filter(a => !PLUMBING_ACTIONS.has(a.split(':')[0]));
        if (statement.Effect !== 'Allow' || actions.length === 0) continue;
        for (const resource of asArray<unknown>(statement.Resource)) {
          const refs = referencesIn(resource).filter(ref => this.node(ref) !== undefined);
          for (const ref of refs) call(this.node(owner), this.node(ref), iamPrefixOf(this.typeOf(ref)), actions);
          if (refs.length > 0) continue;
          for (const prefix of new Set(actions.map(a => a.split(':')[0]))) {
            call(this.node(owner), this.serviceTarget(prefix), prefix, actions.filter(a => a.startsWith(`${prefix}:`)));
          }
        }
      }
    }
    for (const { from, to, service, actions } of calls.values()) this.edge(from, to, 'call', describeActions(actions, service));
  }

  /** A service call lands on the template's resource of that service when the diagram shows exactly one (the pipeline). */
  private serviceTarget(prefix: string): string {
    const candidates = [...this.shown].filter(id => !this.owned.has(id) && iamPrefixOf(this.typeOf(id)) === prefix);
    return candidates.length === 1 ? this.node(candidates[0])! : this.serviceNode(prefix);
  }

  private addAlarms() {
    for (const alarm of [...this.owned.keys()].filter(id => this.typeOf(id) === 'AWS::CloudWatch::Alarm')) {
      const props = this.propsOf(alarm);
      for (const ref of referencesIn(props.Dimensions)) this.edge(this.node(ref), this.node(alarm), 'metric', props.MetricName);
    }
  }

  private renderOwned(id: string): string[] {
    const props = this.propsOf(id);
    const folded = this.folded.get(id) ?? [];
    const extras = folded.length > 0 ? `\n+ ${summarizeFolded(folded)}` : '';
    switch (this.typeOf(id)) {
      case 'AWS::Lambda::Function':
        return [`${this.node(id)} [label=${quote(`λ ${this.nameOf(id)}\nLambda function, ${props.MemorySize ?? 128} MB, ${props.Timeout ?? 3} s${extras}`)}, fillcolor="#fff0e6", color="#d9690f"];`];
      case 'AWS::StepFunctions::StateMachine':
        return this.renderStateMachine(id, extras);
      case 'AWS::Events::Rule': {
        const what = props.ScheduleExpression ? `schedule ${props.ScheduleExpression}` : props.Description ?? '';
        return [`${this.node(id)} [label=${quote(`${this.nameOf(id)}\nEventBridge rule\n${wrap(what)}`.trim())}, fillcolor="#e8f1fb", color="#1f6fb2"];`];
      }
      case 'AWS::CloudWatch::Alarm':
        return [`${this.node(id)} [label=${quote(`${this.nameOf(id)}\nCloudWatch alarm: ${props.MetricName} >= ${props.Threshold}`)}, fillcolor="#fdecea", color="#b3261e"];`];
      default: {
        const fifo = props.FifoQueue ? ' (FIFO)' : '';
        return [`${this.node(id)} [label=${quote(`${this.nameOf(id)}\n${friendlyType(this.typeOf(id))}${fifo}${extras}`)}, fillcolor="#eef7ee", color="#3b7d3b"];`];
      }
    }
  }

  private externalLabel(id: string): string {
    const stages = (this.pipelineStages.get(id) ?? []).map(s => `\n${wrap(s, 60)}`).join('');
    return `${this.nameOf(id)}\n${friendlyType(this.typeOf(id))}\n(not part of the construct)${stages}`;
  }

  /** The state machine as a cluster of its states, with one edge per function or service its tasks call. */
  private renderStateMachine(id: string, extras: string): string[] {
    const machine = this.node(id)!;
    const definition = resolveDefinition(this.propsOf(id).DefinitionString);
    const lines = [
      `subgraph ${quote(`cluster_${machine}`)} {`,
      '  label=""; style="rounded,filled"; fillcolor="#fbf5ff"; color="#7b3fa0";',
      `  ${machine} [label=${quote(`${this.nameOf(id)}\nStep Functions state machine${extras}`)}, fillcolor="#f1e4fa", color="#7b3fa0"];`,
    ];
    const calls = new Map<string, { target: string; states: string[] }>();
    const drawStates = (states: Record<string, AslState>, startAt: string, prefix: string, from: string): void => {
      const stateNode = (name: string) => `${prefix}__${nodeId(name)}`;
      this.edge(from, stateNode(startAt), 'call', prefix === machine ? 'start' : undefined);
      // A state that most others catch errors into (the run's last step) says so in its label instead of drawing every edge.
      const catchers = new Map<string, string[]>();
      for (const [name, state] of Object.entries(states)) {
        for (const t of transitionsOf(state)) if (t.kind === 'catch') catchers.set(t.next, [...catchers.get(t.next) ?? [], name]);
      }
      const collapsed = new Set([...catchers].filter(([, sources]) => sources.length >= COLLAPSED_CATCHES).map(([to]) => to));
      for (const [name, state] of Object.entries(states)) {
        const task = state.Type === 'Task' ? describeTask(state) : undefined;
        const caught = collapsed.has(name) ? `\n(errors of ${catchers.get(name)!.length} states land here)` : '';
        const label = `${task ? `${name}\n${this.taskTargetLabel(task)}` : name}${caught}`;
        const shape = state.Type === 'Choice' ? 'shape=diamond, style="filled"' : state.Type === 'Task' ? '' : 'style="filled,dashed"';
        lines.push(`  ${stateNode(name)} [label=${quote(label)}, fillcolor="#ffffff"${shape ? `, ${shape}` : ''}];`);
        for (const t of transitionsOf(state).filter(tr => tr.kind !== 'catch' || !collapsed.has(tr.next))) {
          const kind: EdgeKind = t.kind === 'catch' ? 'failure' : 'call';
          this.edge(stateNode(name), stateNode(t.next), kind, t.kind === 'choice' ? wrap(describeChoice(t.rule), 24) : t.kind === 'catch' ? t.label : t.kind === 'default' ? 'otherwise' : undefined);
        }
        if (task) {
          const target = this.taskTarget(task);
          for (const ref of task.references.filter(r => this.resources[r] && this.node(r) !== target)) {
            this.edge(stateNode(name), this.node(ref), 'reference', 'in the task\'s input');
          }
          if (target) {
            const call = calls.get(`${target} ${task.action}`) ?? { target, states: [] };
            call.states.push(name);
            calls.set(`${target} ${task.action}`, call);
          }
        }
        for (const [i, branch] of (state.Branches ?? []).entries()) drawStates(branch.States, branch.StartAt, `${stateNode(name)}_${i}`, stateNode(name));
        const processor = state.ItemProcessor ?? state.Iterator;
        if (processor) drawStates(processor.States, processor.StartAt, `${stateNode(name)}_items`, stateNode(name));
      }
    };
    drawStates(definition.States, definition.StartAt, machine, machine);
    lines.push('}');
    for (const [key, { target, states }] of [...calls].sort(([a], [b]) => a.localeCompare(b))) {
      const action = key.split(' ')[1];
      this.edge(machine, target, 'call', `${action}: ${wrap(states.join(', '), 30)}`);
    }
    return lines;
  }

  private taskTarget(task: ReturnType<typeof describeTask>): string | undefined {
    const refs = task.references.filter(ref => this.resources[ref]);
    const service = task.service === 'lambda' ? 'lambda' : task.service;
    const inService = refs.find(ref => iamPrefixOf(this.typeOf(ref)) === service);
    if (inService) return this.node(inService);
    return this.serviceNode(service);
  }

  private taskTargetLabel(task: ReturnType<typeof describeTask>): string {
    const fn = task.service === 'lambda' ? task.references.find(ref => this.resources[ref]?.Type === 'AWS::Lambda::Function') : undefined;
    return fn ? `λ ${this.nameOf(fn)}` : task.action;
  }
}

/** `['role', 'policy', 'policy', 'log group']` -> `role, 2 policies, log group` */
function summarizeFolded(parts: string[]): string {
  const counts = new Map<string, number>();
  for (const part of parts) counts.set(part, (counts.get(part) ?? 0) + 1);
  return [...counts].map(([part, n]) => (n === 1 ? part : `${n} ${part.replace(/y$/, 'ie')}s`)).join(', ');
}

export function templateToDot(input: DiagramInput): string {
  return new TemplateGraph(input).toDot();
}
