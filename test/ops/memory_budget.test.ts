// The caches a config asks for against the V8 heap they must fit in (src/ops/memory_budget.ts): the image caps the
// heap at 64 MB, and several introspection policies at their default 16 MiB each would not fit beside the token cache.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { budgetWarning, cacheBudget } from '../../src/ops/memory_budget.js';
import { freePort } from '../helpers/ports.js';
import { waitUntil } from '../helpers/wait.js';
import { TOKENGATE_CLI } from '../helpers/tokengate_process.js';
import { imageNodeRuntime } from '../../scripts/node_runtime.mjs';

const dir = mkdtempSync(join(tmpdir(), 'tokengate-memory-budget-'));
writeFileSync(join(dir, 'secret'), 'secret\n');
const MIB = 1024 * 1024;

function configWith(introspectionPolicies: number, grpc = '127.0.0.1:0'): string {
  const policy = (i: number) => `
  - name: opaque-${i}
    validateJwt:
      issuers: []
      audiences: []
      introspection: { endpoint: "https://idp${i}.example.com/i", clientId: tg, clientSecretFile: "${dir}/secret" }`;
  return `server: { grpc: { address: "${grpc}" } }\npolicies:${Array.from({ length: introspectionPolicies }, (_, i) => policy(i)).join('')}\n`;
}

describe('memory budget', () => {
  it('adds the token cache, each introspection cache and each in-process DPoP replay cache', () => {
    const budget = cacheBudget(parseConfigText(configWith(2)), 64 * MIB);
    expect(budget.cacheBytes).toBe(40 * MIB);
    expect(budget.parts).toEqual([
      'token cache 8 MiB',
      'policies "opaque-0" introspection cache 16 MiB',
      'policies "opaque-1" introspection cache 16 MiB',
    ]);
  });

  it('warns when the caches could take more than half the heap limit, and only then', () => {
    expect(budgetWarning(cacheBudget(parseConfigText(configWith(1)), 64 * MIB))).toBeUndefined();
    const warning = budgetWarning(cacheBudget(parseConfigText(configWith(2)), 64 * MIB));
    expect(warning).toMatch(/may hold 40 MiB .* more than half of the V8 heap limit of 64 MiB/);
    expect(warning).toContain('Raise --max-old-space-size');
    expect(budgetWarning(cacheBudget(parseConfigText(configWith(2)), 256 * MIB))).toBeUndefined();
  });

  it('is said at start by a process running with the image heap cap', async () => {
    const file = join(dir, 'tokengate.yaml');
    writeFileSync(file, configWith(3, `127.0.0.1:${await freePort()}`));
    const child = spawn(
      process.execPath,
      [...imageNodeRuntime().flags, '--max-old-space-size=64', TOKENGATE_CLI, 'serve', '--config', file],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    try {
      await waitUntil(() => out.includes('bounded caches may hold'), 'the memory budget warning', 20_000);
      expect(out).toMatch(/"level":"warn"[^\n]*bounded caches may hold 56 MiB/);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
