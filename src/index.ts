export * from './core';
export * from './slack-notify';
export * from './vm-command';
export * from './ansible-deploy';
