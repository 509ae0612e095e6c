/** The `tokengate import-apim` command: reads a policy file, prints YAML on stdout and every finding on stderr. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defaultPolicyName, formatDiagnostic, importApimPolicy } from './import_apim.js';

export const IMPORT_APIM_USAGE = 'usage: tokengate import-apim POLICY.xml [--name NAME] [--allow-partial]\n';

interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
}

const PROCESS_OUTPUT: Output = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

/** Exit 0: imported (warnings on stderr); 1: unreadable file or no importable policy; 2: usage, or unmappable pieces without --allow-partial. */
export async function importApimCommand(args: string[], output: Output = PROCESS_OUTPUT): Promise<number> {
  let values: { name?: string; 'allow-partial'?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { name: { type: 'string' }, 'allow-partial': { type: 'boolean', default: false } },
    }));
  } catch (err) {
    output.stderr(`${(err as Error).message}\n${IMPORT_APIM_USAGE}`);
    return 2;
  }
  if (positionals.length !== 1 || (values.name !== undefined && values.name.trim() === '')) {
    output.stderr(IMPORT_APIM_USAGE);
    return 2;
  }
  const file = positionals[0]!;
  let xml: string;
  try {
    xml = readFileSync(file, 'utf8');
  } catch (err) {
    output.stderr(`${file}: cannot read file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
    return 1;
  }
  const allowPartial = values['allow-partial'] ?? false;
  const result = importApimPolicy(xml, { source: file, name: values.name ?? defaultPolicyName(file), allowPartial });
  for (const d of result.diagnostics) output.stderr(`${formatDiagnostic(d, file)}\n`);
  const unmappable = result.diagnostics.filter((d) => d.severity === 'unmappable').length;
  if (unmappable > 0) {
    output.stderr(
      allowPartial
        ? `${file}: ${unmappable} unmappable ${unmappable === 1 ? 'piece' : 'pieces'} left out or replaced so that the policy fails closed: fix ${unmappable === 1 ? 'it' : 'them'} before enforcing\n`
        : `${file}: ${unmappable} unmappable ${unmappable === 1 ? 'piece' : 'pieces'}: no YAML written; write ${unmappable === 1 ? 'its value' : 'their values'} into the policy, or run with --allow-partial to get the rest\n`,
    );
  }
  if (result.yaml !== undefined) output.stdout(result.yaml);
  return result.exitCode;
}
