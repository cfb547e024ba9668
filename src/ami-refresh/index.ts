export * from './ami-refresh-stage';
export * from './options';
