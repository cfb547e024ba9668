import { z } from 'zod/v3';
import { parseInput, parseJson } from './input';

/*
 * The per-run parameters file that stages read from their input artifact:
 * `{ "parameters": { "name": value } }`, allowlisted and typed by the stage's `fileParameters`.
 * VmCommandStage reads it in its Lambda action; AnsibleDeployStage in its CodeBuild run.
 */

/** The parameters file is small JSON: a larger one is refused before it is parsed. */
export const MAX_PARAMETERS_FILE_BYTES = 256 * 1024;

export const FILE_PARAMETER_TYPES = ['string', 'stringList', 'integer', 'boolean'] as const;

const FILE_PARAMETER_SCHEMAS = {
  string: z.string(),
  stringList: z.array(z.string()),
  integer: z.number().int(),
  boolean: z.boolean(),
} as const;

/** The stage's allowlist as the construct writes it: parameter name to type. */
export const FileParametersSchema = z.record(z.string(), z.enum(FILE_PARAMETER_TYPES)).default({});
export type FileParameters = z.infer<typeof FileParametersSchema>;

export type FileParameterValue = string | string[] | number | boolean;

/**
 * Validates the parameters file's text against the allowlist: malformed JSON, a key the stage does
 * not allow or a value of the wrong type throws an InputError naming the file and every problem.
 * `extra` adds top-level keys a stage allows besides `parameters` (e.g. VmCommandStage's targets).
 */
export function parseParametersFile<E extends z.ZodRawShape = {}>(
  text: string, filePath: string, fileParameters: FileParameters, extra?: E,
): { parameters: Record<string, FileParameterValue> } & z.infer<z.ZodObject<E>> {
  const what = `parameters file \`${filePath}\``;
  const shape = Object.fromEntries(Object.entries(fileParameters)
    .map(([name, type]) => [name, FILE_PARAMETER_SCHEMAS[type].optional()]));
  const schema = z.object({ parameters: z.object(shape).strict().optional(), ...extra }).strict();
  const file = parseInput(schema, parseJson(text, what), what) as any;
  const parameters: Record<string, FileParameterValue> = {};
  for (const [name, value] of Object.entries(file.parameters ?? {})) {
    if (value !== undefined) parameters[name] = value as FileParameterValue;
  }
  return { ...file, parameters };
}
