export * from './pipeline-event';
export * from './slack-webhook';
export * from './slack-notify-stage';
