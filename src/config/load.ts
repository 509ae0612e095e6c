import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError } from '../errors.js';
import type { Config } from './types.js';
import { validateConfig } from './validate.js';

/** Parses YAML text; syntax errors become ConfigError problems with line and column. */
export function parseConfigText(text: string, source = 'config'): Config {
  const lineCounter = new LineCounter();
  // uniqueKeys: a duplicated key in a policy file is a mistake, never an override.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        const where = `line ${pos.line}, column ${pos.col}`;
        return `${where}: ${e.message.split('\n')[0]}`;
      }),
      source,
    );
  }
  return validateConfig(doc.toJS({ maxAliasCount: 100 }), source);
}

export function loadConfigFile(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`], path);
  }
  return parseConfigText(text, path);
}
