export * from './pipeline-stage';
export * from './pipeline-stage-step';
