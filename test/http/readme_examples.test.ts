import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/paths.js';

/** Trimmed lines without comments and blanks (a trailing `# ...` after two spaces counts as a comment). */
function significant(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/\s{2,}#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** The fenced blocks of README's "Other proxies" section that name an example file on their first line. */
function excerpts(): { file: string; lines: string[] }[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Other proxies');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  return [...section.matchAll(/```\w+\n# (proxies\/\S+)\n([\s\S]*?)```/g)].map((m) => ({ file: m[1]!, lines: significant(m[2]!) }));
}

describe('README "Other proxies"', () => {
  it('shows the three example configurations', () => {
    expect(excerpts().map((e) => e.file)).toEqual(['proxies/nginx.conf', 'proxies/Caddyfile', 'proxies/envoy-http-service.yaml']);
  });

  for (const { file, lines } of excerpts()) {
    it(`quotes ${file} as it is: every line there, in order (the e2e tests run the file)`, () => {
      const inFile = significant(readFileSync(join(ROOT, file), 'utf8'));
      let at = 0;
      for (const line of lines) {
        const found = inFile.indexOf(line, at);
        expect(found, `"${line}" is not in ${file} (after line ${at} of its significant lines)`).toBeGreaterThanOrEqual(0);
        at = found + 1;
      }
    });
  }
});
