/** The `tokengate import-apim` command: reads a policy file, prints YAML on stdout and every finding on stderr. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Certificate } from './context.js';
import { defaultPolicyName, formatDiagnostic, importApimPolicy } from './import_apim.js';
import { parseNamedValueArg, parseNamedValuesFile } from './named_values.js';

export const IMPORT_APIM_USAGE =
  'usage: tokengate import-apim POLICY.xml [--name NAME] [--allow-partial]\n' +
  '         [--named-value NAME=VALUE]... [--named-values FILE] [--certificate ID=FILE.pem]...\n';

interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
}

const PROCESS_OUTPUT: Output = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

interface Args {
  file: string;
  name: string | undefined;
  allowPartial: boolean;
  namedValues: string[];
  namedValuesFile: string | undefined;
  certificates: string[];
}

/**
 * Exit 0: imported (warnings on stderr); 1: an unreadable file or no importable policy; 2: usage, or unmappable pieces
 * without --allow-partial.
 */
export async function importApimCommand(args: string[], output: Output = PROCESS_OUTPUT): Promise<number> {
  const parsed = parseCommandLine(args, output);
  if (typeof parsed === 'number') return parsed;
  const inputs = readInputs(parsed, output);
  if (typeof inputs === 'number') return inputs;
  const { file, allowPartial } = parsed;
  const result = importApimPolicy(inputs.xml, {
    source: file,
    name: parsed.name ?? defaultPolicyName(file),
    allowPartial,
    namedValues: inputs.namedValues,
    certificates: inputs.certificates,
  });
  for (const d of result.diagnostics) output.stderr(`${formatDiagnostic(d, file)}\n`);
  const unmappable = result.diagnostics.filter((d) => d.severity === 'unmappable').length;
  if (unmappable > 0) {
    const pieces = `${unmappable} unmappable ${unmappable === 1 ? 'piece' : 'pieces'}`;
    output.stderr(
      allowPartial
        ? `${file}: ${pieces} left out or replaced so that the policy fails closed: fix ` +
            `${unmappable === 1 ? 'it' : 'them'} before enforcing\n`
        : `${file}: ${pieces}: no YAML written; write ${unmappable === 1 ? 'its value' : 'their values'} into the ` +
            `policy, or run with --allow-partial to get the rest\n`,
    );
  }
  if (result.yaml !== undefined) output.stdout(result.yaml);
  return result.exitCode;
}

function parseCommandLine(args: string[], output: Output): Args | number {
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        name: { type: 'string' },
        'allow-partial': { type: 'boolean', default: false },
        'named-value': { type: 'string', multiple: true, default: [] },
        'named-values': { type: 'string' },
        certificate: { type: 'string', multiple: true, default: [] },
      },
    });
    if (positionals.length !== 1 || (values.name !== undefined && values.name.trim() === '')) {
      output.stderr(IMPORT_APIM_USAGE);
      return 2;
    }
    return {
      file: positionals[0]!,
      name: values.name,
      allowPartial: values['allow-partial'] ?? false,
      namedValues: values['named-value'] ?? [],
      namedValuesFile: values['named-values'],
      certificates: values.certificate ?? [],
    };
  } catch (err) {
    output.stderr(`${(err as Error).message}\n${IMPORT_APIM_USAGE}`);
    return 2;
  }
}

/** The policy, named values and certificates; a file that cannot be read is exit 1, a malformed argument exit 2. */
function readInputs(
  args: Args,
  output: Output,
): { xml: string; namedValues: Map<string, string>; certificates: Map<string, Certificate> } | number {
  const read = (file: string): string | undefined => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      output.stderr(`${file}: cannot read file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
      return undefined;
    }
  };
  const xml = read(args.file);
  if (xml === undefined) return 1;
  const namedValues = new Map<string, string>();
  if (args.namedValuesFile !== undefined) {
    const text = read(args.namedValuesFile);
    if (text === undefined) return 1;
    const map = parseNamedValuesFile(text);
    if ('error' in map) {
      output.stderr(`${args.namedValuesFile}: ${map.error}\n`);
      return 2;
    }
    for (const [k, v] of map) namedValues.set(k, v);
  }
  // The command line wins over the file: a value given twice is the one typed last.
  for (const arg of args.namedValues) {
    const nv = parseNamedValueArg(arg);
    if (!nv) return usage(output, `--named-value ${arg}: expected NAME=VALUE`);
    namedValues.set(nv.name, nv.value);
  }
  const certificates = new Map<string, Certificate>();
  for (const arg of args.certificates) {
    const c = parseNamedValueArg(arg);
    if (!c || c.value === '') return usage(output, `--certificate ${arg}: expected ID=FILE.pem`);
    const pem = read(c.value);
    if (pem === undefined) return 1;
    certificates.set(c.name, { file: c.value, pem });
  }
  return { xml, namedValues, certificates };
}

function usage(output: Output, message: string): number {
  output.stderr(`${message}\n${IMPORT_APIM_USAGE}`);
  return 2;
}
