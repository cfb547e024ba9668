/*
 * Turns a synthesized CloudFormation template into what the emulator needs: a state machine
 * definition with every intrinsic resolved, and the Lambda functions it may invoke.
 */

export const ACCOUNT_ID = '123456789012';

export interface TemplateFunction {
  readonly logicalId: string;
  /** The name `Ref` resolves to (FunctionName, or the logical id). */
  readonly functionName: string;
  readonly environment: Record<string, string>;
  readonly timeoutSeconds?: number;
}

export interface ResolvedStateMachine {
  /** The definition as JSON text, ready for CreateStateMachine. */
  readonly definition: string;
  /** Every Lambda function of the template. */
  readonly functions: TemplateFunction[];
}

interface Resource { readonly Type: string; readonly Properties?: any }

export class TemplateResolver {
  private readonly resources: Record<string, Resource>;
  private readonly parameters: Record<string, any>;

  constructor(template: any, private readonly region: string) {
    this.resources = template.Resources ?? {};
    this.parameters = template.Parameters ?? {};
  }

  public stateMachine(logicalId: string): ResolvedStateMachine {
    const resource = this.resources[logicalId];
    if (resource?.Type !== 'AWS::StepFunctions::StateMachine') {
      const machines = this.logicalIdsOfType('AWS::StepFunctions::StateMachine');
      throw new Error(`${logicalId} is not a state machine of the template; state machines: ${machines.join(', ') || 'none'}`);
    }
    const props = resource.Properties ?? {};
    let definition: string;
    if (props.DefinitionString !== undefined) definition = this.resolve(props.DefinitionString);
    else if (props.Definition !== undefined) definition = JSON.stringify(this.resolve(props.Definition));
    else throw new Error(`${logicalId} has no inline definition (DefinitionS3Location is not supported)`);
    const substitutions = this.resolve(props.DefinitionSubstitutions ?? {});
    for (const [key, value] of Object.entries(substitutions)) definition = definition.split('${' + key + '}').join(String(value));
    return { definition, functions: this.functions() };
  }

  public functions(): TemplateFunction[] {
    return this.logicalIdsOfType('AWS::Lambda::Function').map(logicalId => {
      const props = this.resources[logicalId].Properties ?? {};
      const variables = this.resolve(props.Environment?.Variables ?? {});
      return {
        logicalId,
        functionName: this.ref(logicalId),
        environment: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)])),
        timeoutSeconds: typeof props.Timeout === 'number' ? props.Timeout : undefined,
      };
    });
  }

  public logicalIdsOfType(type: string): string[] {
    return Object.keys(this.resources).filter(id => this.resources[id].Type === type);
  }

  /** Resolves the intrinsic functions CDK emits (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split). */
  public resolve(value: any): any {
    if (Array.isArray(value)) return value.map(v => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [fn] = keys;
      const arg = value[fn];
      switch (fn) {
        case 'Ref': return this.ref(arg);
        case 'Fn::GetAtt': {
          const [id, ...attr] = typeof arg === 'string' ? arg.split('.') : this.resolve(arg);
          return this.getAtt(id, attr.join('.'));
        }
        case 'Fn::Join': {
          const [separator, list] = arg;
          return (this.resolve(list) as any[]).join(separator);
        }
        case 'Fn::Sub': return this.sub(arg);
        case 'Fn::Select': {
          const [index, list] = this.resolve(arg);
          return list[Number(index)];
        }
        case 'Fn::Split': {
          const [separator, text] = this.resolve(arg);
          return String(text).split(separator);
        }
        case 'Fn::ImportValue': return `imported-${this.resolve(arg)}`;
        case 'Fn::GetAZs': return ['a', 'b', 'c'].map(az => `${this.region}${az}`);
      }
      if (fn.startsWith('Fn::')) throw new Error(`${fn} is not supported by the emulator's template resolver`);
    }
    return Object.fromEntries(keys.map(k => [k, this.resolve(value[k])]));
  }

  private sub(arg: any): string {
    const [text, variables] = typeof arg === 'string' ? [arg, {}] : [arg[0], this.resolve(arg[1])];
    return String(text).replace(/\$\{(!?)([^}]+)\}/g, (_, literal: string, name: string) => {
      if (literal) return '${' + name + '}';
      if (name in variables) return String(variables[name]);
      const [id, ...attr] = name.split('.');
      return attr.length ? String(this.getAtt(id, attr.join('.'))) : String(this.ref(id));
    });
  }

  private ref(id: string): any {
    switch (id) {
      case 'AWS::Region': return this.region;
      case 'AWS::AccountId': return ACCOUNT_ID;
      case 'AWS::Partition': return 'aws';
      case 'AWS::URLSuffix': return 'amazonaws.com';
      case 'AWS::StackName': return 'EmulatorStack';
      case 'AWS::StackId': return `arn:aws:cloudformation:${this.region}:${ACCOUNT_ID}:stack/EmulatorStack/emulator`;
      case 'AWS::NoValue': return undefined;
    }
    if (id in this.parameters) return this.parameters[id].Default ?? id;
    const resource = this.resources[id];
    if (!resource) throw new Error(`Ref to ${id}, which is neither a resource nor a parameter of the template`);
    const props = resource.Properties ?? {};
    const named = (prop: string) => (props[prop] !== undefined ? String(this.resolve(props[prop])) : id);
    const arn = (service: string, rest: string) => `arn:aws:${service}:${this.region}:${ACCOUNT_ID}:${rest}`;
    switch (resource.Type) {
      case 'AWS::Lambda::Function': return named('FunctionName');
      // CloudFormation names a FIFO queue without QueueName `<generated>.fifo`.
      case 'AWS::SQS::Queue': return `https://sqs.${this.region}.amazonaws.com/${ACCOUNT_ID}/${named('QueueName')}${props.FifoQueue && props.QueueName === undefined ? '.fifo' : ''}`;
      case 'AWS::CodeCommit::Repository': return named('RepositoryName');
      case 'AWS::SNS::Topic': return arn('sns', named('TopicName'));
      case 'AWS::StepFunctions::StateMachine': return arn('states', `stateMachine:${named('StateMachineName')}`);
      case 'AWS::SecretsManager::Secret': return arn('secretsmanager', `secret:${named('Name')}`);
      case 'AWS::SSM::Parameter': return named('Name');
      case 'AWS::S3::Bucket': return named('BucketName').toLowerCase();
      case 'AWS::IAM::Role': return named('RoleName');
      case 'AWS::Logs::LogGroup': return named('LogGroupName');
      case 'AWS::Events::EventBus': return named('Name');
      case 'AWS::Events::Rule': return named('Name');
      case 'AWS::CodeBuild::Project': return named('Name');
      case 'AWS::CodePipeline::Pipeline': return named('Name');
      default: return id;
    }
  }

  private getAtt(id: string, attribute: string): any {
    const resource = this.resources[id];
    if (!resource) throw new Error(`Fn::GetAtt of ${id}, which is not a resource of the template`);
    const name = this.ref(id);
    const arn = (service: string, rest: string) => `arn:aws:${service}:${this.region}:${ACCOUNT_ID}:${rest}`;
    if (attribute === 'Arn' || attribute === 'TopicArn') {
      switch (resource.Type) {
        case 'AWS::Lambda::Function': return arn('lambda', `function:${name}`);
        case 'AWS::SQS::Queue': return arn('sqs', String(name).split('/').pop()!);
        case 'AWS::SNS::Topic':
        case 'AWS::StepFunctions::StateMachine':
        case 'AWS::SecretsManager::Secret': return name;
        case 'AWS::IAM::Role': return `arn:aws:iam::${ACCOUNT_ID}:role/${name}`;
        case 'AWS::S3::Bucket': return `arn:aws:s3:::${name}`;
        case 'AWS::Logs::LogGroup': return arn('logs', `log-group:${name}:*`);
        case 'AWS::Events::EventBus': return arn('events', `event-bus/${name}`);
        case 'AWS::Events::Rule': return arn('events', `rule/${name}`);
        case 'AWS::KMS::Key': return arn('kms', `key/${name}`);
        case 'AWS::CodeBuild::Project': return arn('codebuild', `project/${name}`);
        case 'AWS::CodeCommit::Repository': return arn('codecommit', name);
        default: {
          const [, service = 'unknown', kind = 'resource'] = resource.Type.split('::');
          return arn(service.toLowerCase(), `${kind.toLowerCase()}/${name}`);
        }
      }
    }
    if (attribute === 'QueueUrl') return name;
    if (attribute === 'QueueName' || attribute === 'TopicName' || attribute === 'Name') return String(name).split(/[/:]/).pop();
    return `${id}.${attribute}`;
  }
}
