/**
 * The handlers each construct's asset exports (`lambda-src/<asset>/handlers.ts`, bundled to
 * `assets/lambda-src/<asset>/handlers/index.js`). The handlers modules are type-checked against
 * this list, so a construct can only name a handler its asset has.
 */
export const ASSET_HANDLERS = {
  'vm-command': ['run', 'event'],
  'slack-notify': ['handler'],
  'ami-refresh': ['run', 'event'],
  'branch-build-fanout': ['intake', 'dispatch', 'sweep'],
} as const;

export type AssetName = keyof typeof ASSET_HANDLERS;
export type HandlerName<A extends AssetName> = typeof ASSET_HANDLERS[A][number];

/**
 * Assets that are command-line programs rather than Lambda handlers: a CodeBuild project runs
 * `node index.js <command>`. Each lists the commands its `handlers.ts` exports; the modules are
 * type-checked against this list (test/lambda-src/handler-names.test.ts), and buildspecs name a
 * command through `CommandName`, so a buildspec can only run a command its asset has.
 */
export const ASSET_COMMANDS = {
  'ansible-deploy': ['prepare', 'run'],
} as const;

export type CliAssetName = keyof typeof ASSET_COMMANDS;
export type CommandName<A extends CliAssetName> = typeof ASSET_COMMANDS[A][number];
