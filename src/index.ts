export * from './branch-build-fanout';
export * from './core';
export * from './ami-refresh';
export * from './slack-notify';
export * from './vm-command';
export * from './ansible-deploy';
