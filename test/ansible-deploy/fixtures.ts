import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import {
  AnsibleDeployStage, AnsibleDeployStageProps, AnsibleInventory, AnsibleTransport, KnownHosts, SshPrivateKey,
} from '../../src';
import { pipelineStack } from '../vm-command/fixtures';

/** The SSH transport of most tests: key in an SSM SecureString, known_hosts in an SSM parameter. */
export function sshTransport(options: { port?: number; user?: string; knownHosts?: KnownHosts } = {}): AnsibleTransport {
  return AnsibleTransport.ssh({
    privateKey: SshPrivateKey.fromSsmSecureString('/ansible/deploy-key'),
    knownHosts: options.knownHosts ?? KnownHosts.fromSsmParameter('/ansible/known-hosts'),
    user: options.user ?? 'deploy',
    port: options.port,
  });
}

export const BASE_PROPS: AnsibleDeployStageProps = {
  playbook: 'site.yml',
  inventory: AnsibleInventory.fromFile('inventory.ini'),
  transport: sshTransport(),
};

/** A pipeline stack with the stage added after the source. */
export function stageStack(props: Partial<AnsibleDeployStageProps> = {}, options: { variablesNamespace?: string; app?: App } = {}) {
  const { app, stack, pipeline, source } = pipelineStack(options.app);
  const stage = new AnsibleDeployStage(stack, 'Deploy', { ...BASE_PROPS, ...props });
  stage.addToPipeline(pipeline, { input: source, variablesNamespace: options.variablesNamespace });
  return { app, stack, pipeline, source, stage };
}

/** A stage whose key comes from Secrets Manager (a JSON field of the secret). */
export function secretKeyTransport(stack: Stack): { transport: AnsibleTransport; secret: secretsmanager.Secret } {
  const secret = new secretsmanager.Secret(stack, 'DeployKey');
  Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'An SSH deploy key is rotated by its owners with the hosts\' authorized_keys.' });
  return {
    secret,
    transport: AnsibleTransport.ssh({ privateKey: SshPrivateKey.fromSecret(secret, 'privateKey'), knownHosts: KnownHosts.fromFile('known_hosts'), user: 'ec2-user' }),
  };
}

/** The project's buildspec as an object, with tokens left as CloudFormation intrinsics. */
export function buildSpecOf(template: Template): any {
  const projects = template.findResources('AWS::CodeBuild::Project');
  const [project] = Object.values(projects) as any[];
  const spec = project.Properties.Source.BuildSpec;
  if (typeof spec === 'string') return JSON.parse(spec);
  const text = spec['Fn::Join'][1].map((p: unknown) => (typeof p === 'string' ? p : `<${JSON.stringify(p)}>`)).join('');
  return JSON.parse(text.replace(/<(\{[^>]*\})>/g, (_: string, json: string) => `TOKEN:${Object.values(JSON.parse(json))[0]}`.replace(/"/g, "'")));
}

/** The project's plain environment variables (values may be intrinsics). */
export function projectEnv(template: Template): Record<string, any> {
  const [project] = Object.values(template.findResources('AWS::CodeBuild::Project')) as any[];
  return Object.fromEntries(project.Properties.Environment.EnvironmentVariables.map((v: any) => [v.Name, v.Value]));
}

/** Every statement of the project role's policies. */
export function projectStatements(template: Template): any[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p: any) => JSON.stringify(p.Properties.Roles).includes('DeployProjectRole'))
    .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

/** The run config the project carries, with tokens as `<LogicalId>`. */
export function runConfigOf(template: Template): any {
  const value = projectEnv(template).ANSIBLE_STAGE_CONFIG;
  const text = typeof value === 'string' ? value : value['Fn::Join'][1].map((p: any) => (typeof p === 'string' ? p : `<${p.Ref ?? p['Fn::GetAtt']?.[0]}>`)).join('');
  return JSON.parse(text);
}
