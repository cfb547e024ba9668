import { TransportConfig } from './config';
import { CommandName } from '../../core/private/assets';

/** A command of the stage's runner (the asset the pre_build phase downloads). */
function runner(command: CommandName<'ansible-deploy'>): string {
  return `node "$ANSIBLE_STAGE_RUNNER" ${command}`;
}

/*
 * The stage's buildspec. Its commands are fixed text: every user value reaches the build as an
 * environment variable (the run config JSON, pins, file paths) that a command only ever expands
 * inside double quotes, or that the runner reads itself.
 */

/** The variables the runner exports (lambda-src/ansible-deploy/run.ts writes the same list). */
export const EXPORTED_VARIABLES = [
  'ANSIBLE_OK', 'ANSIBLE_CHANGED', 'ANSIBLE_UNREACHABLE', 'ANSIBLE_FAILED', 'ANSIBLE_SKIPPED', 'ANSIBLE_RESCUED', 'ANSIBLE_IGNORED',
  'ANSIBLE_HOSTS', 'ANSIBLE_FAILED_HOSTS', 'ANSIBLE_UNREACHABLE_HOSTS', 'ANSIBLE_EXIT_CODE', 'ANSIBLE_MODE', 'ANSIBLE_SUMMARY',
];

/** Where the runner writes its work files and the JUnit reports, relative to the source directory. */
export const WORK_DIR = '.ansible-stage';

export interface BuildSpecOptions {
  readonly transport: TransportConfig;
  /** Install ansible-core and the collections (the default image), or not (`buildImage`). */
  readonly install: boolean;
  /** Install community.aws (the SSM transport's plugin with amazon.aws before 10, or an explicit pin). */
  readonly installCommunityAws: boolean;
  /** The report group's ARN. */
  readonly reportGroupArn: string;
  /** The known_hosts SSM parameter, when the trusted keys come from one. */
  readonly knownHostsParameter?: string;
}

export function buildSpecObject(options: BuildSpecOptions): Record<string, unknown> {
  const { transport } = options;
  const parameterStore: Record<string, string> = {};
  const secretsManager: Record<string, string> = {};
  if (transport.privateKey) {
    (transport.privateKey.source === 'parameter-store' ? parameterStore : secretsManager).ANSIBLE_SSH_PRIVATE_KEY = transport.privateKey.reference;
  }
  if (options.knownHostsParameter) parameterStore.ANSIBLE_KNOWN_HOSTS = options.knownHostsParameter;

  const install = [
    'python3 -m pip install --quiet --disable-pip-version-check "ansible-core==${ANSIBLE_CORE_VERSION}" "boto3==${BOTO3_VERSION}"',
    'ansible-galaxy collection install "amazon.aws:==${AMAZON_AWS_VERSION}"',
    ...(transport.kind === 'ssm' && options.installCommunityAws ? ['ansible-galaxy collection install "community.aws:==${COMMUNITY_AWS_VERSION}"'] : []),
    ...(transport.kind === 'ssm' ? [
      'curl -fsSL -o /tmp/session-manager-plugin.deb https://s3.amazonaws.com/session-manager-downloads/plugin/latest/ubuntu_64bit/session-manager-plugin.deb',
      'dpkg -i /tmp/session-manager-plugin.deb',
    ] : []),
  ];
  return {
    version: '0.2',
    env: {
      'shell': 'bash',
      ...(Object.keys(parameterStore).length ? { 'parameter-store': parameterStore } : {}),
      ...(Object.keys(secretsManager).length ? { 'secrets-manager': secretsManager } : {}),
      'exported-variables': EXPORTED_VARIABLES,
    },
    phases: {
      ...(options.install ? { install: { 'runtime-versions': { python: '3.11', nodejs: '20' }, 'commands': install } } : {}),
      pre_build: {
        commands: [
          // No command echo, and no command of this buildspec prints the environment.
          'set +x',
          'export ANSIBLE_STAGE_RUNNER="$(mktemp -d)/runner.js"',
          'aws s3 cp --only-show-errors "s3://${ANSIBLE_STAGE_RUNNER_BUCKET}/${ANSIBLE_STAGE_RUNNER_KEY}" "$ANSIBLE_STAGE_RUNNER"',
          'if [ -f "$ANSIBLE_STAGE_PYTHON_REQUIREMENTS" ]; then python3 -m pip install --quiet --disable-pip-version-check -r "$ANSIBLE_STAGE_PYTHON_REQUIREMENTS"; fi',
          'if [ -f "$ANSIBLE_STAGE_COLLECTIONS_REQUIREMENTS" ]; then ansible-galaxy collection install -r "$ANSIBLE_STAGE_COLLECTIONS_REQUIREMENTS"; fi',
          runner('prepare'),
          // The key is in its 0600 file now: later commands do not need it in their environment.
          'unset ANSIBLE_SSH_PRIVATE_KEY',
        ],
      },
      build: {
        commands: [runner('run')],
      },
      post_build: {
        commands: [
          `rm -f ${WORK_DIR}/id_ssh`,
          // NAME=value lines written by the runner; `read -r` and a quoted export never evaluate a value.
          `if [ -f ${WORK_DIR}/exports ]; then while IFS='=' read -r name value; do export "$name=$value"; done < ${WORK_DIR}/exports; fi`,
        ],
      },
    },
    reports: {
      [options.reportGroupArn]: {
        'files': ['**/*.xml'],
        'base-directory': `${WORK_DIR}/junit`,
        'file-format': 'JUNITXML',
      },
    },
  };
}
