export * from './branch-build-fanout';
export * from './core';
export * from './slack-notify';
export * from './vm-command';
