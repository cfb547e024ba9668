export * from './core';
export * from './vm-command';
