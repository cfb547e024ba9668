export * from './ansible-deploy-stage';
export * from './inventory';
export * from './transport';
