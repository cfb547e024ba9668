export * from './command';
export * from './targets';
export * from './vm-command-stage';
