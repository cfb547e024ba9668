export * from './pipeline-stage';
export * from './pipeline-stage-step';
export * from './file-parameter-type';
