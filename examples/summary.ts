import * as path from 'path';
import { cx_api } from 'aws-cdk-lib';

/** Prints each synthesized stack's template file, its resources by type, and its pipeline stages. */
export function printSynthSummary(assembly: cx_api.CloudAssembly): void {
  for (const stack of assembly.stacks) {
    const resources: Array<{ Type: string; Properties?: any }> = Object.values(stack.template.Resources ?? {});
    console.log(`${stack.stackName}: ${path.relative(process.cwd(), path.join(assembly.directory, stack.templateFile))}`);
    const counts = new Map<string, number>();
    for (const r of resources) counts.set(r.Type, (counts.get(r.Type) ?? 0) + 1);
    for (const [type, count] of [...counts].sort()) console.log(`  ${String(count).padStart(3)} ${type}`);
    for (const p of resources.filter(r => r.Type === 'AWS::CodePipeline::Pipeline')) {
      console.log('  pipeline stages:');
      for (const stage of p.Properties.Stages) {
        const names = stage.Actions.map((a: any) => `${a.Name} (${a.ActionTypeId.Provider}, run order ${a.RunOrder ?? 1})`);
        console.log(`    ${stage.Name}: ${names.join(', ')}`);
      }
    }
  }
}
