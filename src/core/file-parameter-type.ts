/** The type of a value a stage's parameters file may set. */
export enum FileParameterType {
  /** A JSON string, passed as a single value. */
  STRING = 'string',
  /** A JSON array of strings, passed as a list (e.g. `commands`). */
  STRING_LIST = 'stringList',
  /** A JSON integer, passed as its decimal text (VmCommandStage) or a number (AnsibleDeployStage). */
  INTEGER = 'integer',
  /** A JSON boolean, passed as `true` or `false`. */
  BOOLEAN = 'boolean',
}
