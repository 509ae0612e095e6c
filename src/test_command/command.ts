import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { runTestFile, type CaseResult } from './run_cases.js';
import { readTestFile, type TestFile } from './test_file.js';

const USAGE = 'usage: tokengate test FILE... [--config CONFIG] [--json]\n';

interface FileResult {
  readonly file: string;
  readonly config: string;
  readonly cases: readonly CaseResult[];
}

/**
 * `tokengate test FILE...`: table-driven cases against a config, without a server or the network (README
 * "tokengate test"). One line per case and a summary `N passed, M failed`; exit 0 when every case passed, 1 when
 * any failed, 2 when a file or its config cannot be used.
 */
export async function testCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { json: { type: 'boolean', default: false }, config: { type: 'string', short: 'c' } },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (positionals.length === 0) {
    process.stderr.write(USAGE);
    return 2;
  }
  const files: FileResult[] = [];
  for (const path of positionals) {
    let file: TestFile;
    let cases: CaseResult[];
    try {
      file = readTestFile(path, values.config);
      cases = await runTestFile(file);
    } catch (err) {
      const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
      process.stderr.write(`${path}: ${message}\n`);
      return 2;
    }
    files.push({ file: path, config: relative(process.cwd(), file.config), cases });
  }
  const all = files.flatMap((f) => f.cases);
  const passed = all.filter((c) => c.passed).length;
  const failed = all.length - passed;
  const json = () => `${JSON.stringify({ files, passed, failed }, null, 2)}\n`;
  process.stdout.write(values.json ? json() : format(files, passed, failed));
  return failed === 0 ? 0 : 1;
}

function format(files: readonly FileResult[], passed: number, failed: number): string {
  const lines: string[] = [];
  for (const f of files) {
    lines.push(`${f.file} (config ${f.config})`);
    for (const c of f.cases) {
      const got = describe(c);
      lines.push(c.passed ? `ok    ${c.name}  (${got})` : `FAIL  ${c.name}: got ${got}`);
      if (!c.passed) {
        for (const failure of c.failures) lines.push(`        ${failure}`);
        if (c.actual.detail) lines.push(`        detail: ${c.actual.detail}`);
      }
    }
  }
  lines.push('', `${passed} passed, ${failed} failed`);
  return `${lines.join('\n')}\n`;
}

function describe(c: CaseResult): string {
  const a = c.actual;
  const reason = a.reason ? ` ${a.reason}` : '';
  return `${a.decision}${reason} ${a.status} by ${a.policy === null ? 'no policy' : `policy ${a.policy}`}`;
}
