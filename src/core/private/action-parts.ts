import { RenderActionsOptions } from '../pipeline-stage';

/**
 * The name, run order and variables namespace of a stage's further action (e.g. the approval and
 * apply after a check), derived from the user's options: `<actionName>-<part>`, `runOrderOffset`
 * run orders after the first action, and `<namespace>-<part>` when the user gave a namespace.
 */
export function actionPart(options: RenderActionsOptions, part: string, runOrderOffset: number) {
  return {
    actionName: `${options.actionName}-${part}`,
    runOrder: options.runOrder + runOrderOffset,
    variablesNamespace: options.variablesNamespace ? `${options.variablesNamespace}-${part}` : undefined,
  };
}
