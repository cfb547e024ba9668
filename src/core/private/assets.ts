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
