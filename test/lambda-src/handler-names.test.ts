import * as ansibleDeploy from '../../lambda-src/ansible-deploy/handlers';
import * as slackNotify from '../../lambda-src/slack-notify/handlers';
import * as vmCommand from '../../lambda-src/vm-command/handlers';
import { CommandName, HandlerName } from '../../src/core/private/assets';

// Type-checked before the handlers are bundled: a handler name a construct passes to
// createBundledFunction that its asset does not export fails the build here, not at deploy time.
const vmHandlers: Record<HandlerName<'vm-command'>, (event: any) => Promise<unknown>> = vmCommand;
const slackHandlers: Record<HandlerName<'slack-notify'>, (event: any) => Promise<unknown>> = slackNotify;
// The Ansible asset is a command-line program: its exports are the commands its buildspec runs.
const ansibleCommands: Record<CommandName<'ansible-deploy'>, (env?: NodeJS.ProcessEnv, cwd?: string) => Promise<number>> = ansibleDeploy;

test('each asset\'s handlers module exports exactly the handlers its construct names', () => {
  expect(Object.keys(vmCommand).sort()).toEqual(Object.keys(vmHandlers).sort());
  expect(Object.keys(vmHandlers).sort()).toEqual(['event', 'run']);
  expect(Object.keys(slackHandlers)).toEqual(['handler']);
  expect(Object.keys(ansibleDeploy).sort()).toEqual(Object.keys(ansibleCommands).sort());
  expect(Object.keys(ansibleCommands).sort()).toEqual(['prepare', 'run']);
});
