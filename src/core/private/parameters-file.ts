import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import { IConstruct } from 'constructs';
import { invalid, requireNonEmptyString, validateProps } from './validation';
import { FileParameterType } from '../file-parameter-type';

/*
 * The per-run parameters file (`{ "parameters": { ... } }` in the input artifact), shared by the
 * stages that take one; lambda-src/core/parameters-file.ts validates it at run time.
 */

/** Synth checks of `parametersFile` and `fileParameters`. */
export function validateParametersFileProps(parametersFile?: string, fileParameters?: { [name: string]: FileParameterType }): void {
  if (parametersFile === undefined) {
    if (fileParameters) invalid('fileParameters', 'be used with `parametersFile`', Object.keys(fileParameters));
  } else {
    requireNonEmptyString('parametersFile', parametersFile);
  }
}

/** A stage with a parameters file must be given the artifact that holds it. */
export function requireParametersFileInput(
  construct: IConstruct, constructName: string, parametersFile: string | undefined, input: codepipeline.Artifact | undefined,
): void {
  if (!parametersFile || input) return;
  validateProps(construct, constructName, () => {
    throw new Error(`\`input\` must be set: the stage reads its parameters file '${parametersFile}' from it`);
  });
}
