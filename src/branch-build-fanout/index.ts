export * from './branch-build-fanout';
export * from './fanout-target';
