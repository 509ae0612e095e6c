// Tracing off, the default (issue 22 §1): no span, no trace id in the log line, and no OpenTelemetry SDK module loaded,
// neither in this process nor in the built CLI's serve path. Each check has a control that turns tracing on in the
// same way, so the probe is shown to see an SDK when one is loaded.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { createLogger } from '../../src/log.js';
import { startTracing } from '../../src/tracing/start.js';
import { bearer, createCheckClient, envoyCheckRequest } from '../helpers/check_client.js';
import { freePorts } from '../helpers/ports.js';
import { startTokengate } from '../helpers/tokengate.js';
import { startTokengateProcess } from '../helpers/tokengate_process.js';

const require = createRequire(import.meta.url);
const PROBE = join(import.meta.dirname, 'module_probe.mjs');

/**
 * The OpenTelemetry SDK modules among module ids. @opentelemetry/api is no SDK, and prom-client loads it whatever
 * tokengate does (for exemplars); every other @opentelemetry package is tokengate's tracing.
 */
function sdkModules(ids: readonly string[]): string[] {
  return ids.filter((id) => id.includes('/@opentelemetry/') && !id.includes('/@opentelemetry/api/'));
}

let issuer: DevIssuer;
let dir: string;

beforeAll(async () => {
  issuer = await startDevIssuer({ algorithms: ['RS256'], defaultAudience: 'api://orders' });
  dir = mkdtempSync(join(tmpdir(), 'tokengate-tracing-off-'));
});

afterAll(async () => {
  await issuer?.close();
  rmSync(dir, { recursive: true, force: true });
});

const policies = () => `
policies:
  - name: orders
    validateJwt:
      openidConfig: [{ url: "${issuer.discoveryUrl}" }]
      audiences: ["api://orders"]
`;

describe('tracing off', () => {
  it('in this process: checks log no trace id and load no SDK module; turning tracing on loads one', async () => {
    const tg = await startTokengate(`logging: { decisions: all }\n${policies()}`);
    try {
      const token = await issuer.sign({ sub: 'u1' });
      for (const headers of [bearer(token), {}]) {
        await tg.client.check(envoyCheckRequest({ headers: { ...headers, 'x-request-id': 'off-1' } }));
      }
      const lines = tg.logs.filter((l) => l.msg === 'check');
      expect(lines.map((l) => l.decision)).toEqual(['allow', 'deny']);
      for (const line of lines) expect(line).not.toHaveProperty('traceId');
      expect(sdkModules(Object.keys(require.cache))).toEqual([]);
    } finally {
      await tg.stop();
    }
    // Control: the same probe sees the SDK once tracing starts.
    const tracer = await startTracing({ enabled: true, samplerRatio: 1, recordSub: false }, createLogger('silent'), {
      OTEL_TRACES_EXPORTER: 'none',
    });
    expect(tracer).toBeDefined();
    expect(sdkModules(Object.keys(require.cache))).toContainEqual(
      expect.stringContaining('/@opentelemetry/sdk-trace-base/'),
    );
    await tracer!.shutdown();
  });

  it('OTEL_SDK_DISABLED=true keeps it off even with tracing.enabled', async () => {
    const log = createLogger('silent');
    const env = { OTEL_SDK_DISABLED: 'true' };
    expect(await startTracing({ enabled: true, samplerRatio: 1, recordSub: false }, log, env)).toBeUndefined();
  });

  async function serveAndProbe(tracing: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
    const [grpc, http] = (await freePorts(2)) as [number, number];
    const config = join(dir, `tokengate-${grpc}.yaml`);
    const probeFile = join(dir, `modules-${grpc}.json`);
    const server = `server: { grpc: { address: "127.0.0.1:${grpc}" }, http: { address: "127.0.0.1:${http}" } }\n`;
    writeFileSync(config, `${server}${tracing}${policies()}`);
    const proc = await startTokengateProcess({
      args: ['serve', '--config', config],
      opsPort: http,
      logFile: join(dir, `tokengate-${grpc}.log`),
      nodeFlags: ['--import', pathToFileURL(PROBE).href],
      env: { TOKENGATE_MODULE_PROBE: probeFile, ...env },
    });
    const client = createCheckClient(`127.0.0.1:${grpc}`);
    try {
      // The check path runs (an allow and a denial) before the module cache is read at exit.
      const reply = await client.check(envoyCheckRequest({ headers: bearer(await issuer.sign({ sub: 'u1' })) }));
      expect(reply.status.code).toBe(0);
      expect((await client.check(envoyCheckRequest())).status.code).not.toBe(0);
    } finally {
      client.close();
      expect((await proc.stop('SIGTERM')).code).toBe(0);
    }
    return JSON.parse(readFileSync(probeFile, 'utf8')) as string[];
  }

  it('the built CLI serving checks loads no SDK module; with tracing.enabled it does', async () => {
    const off = await serveAndProbe('');
    expect(
      off.some((id) => id.includes('/@grpc/grpc-js/')),
      `the probe sees the modules loaded (it saw ${off.length}: ${off.slice(0, 5).join(', ')})`,
    ).toBe(true);
    expect(sdkModules(off)).toEqual([]);
    // Nor the CEL engine, for a config without rules (issue 23's ready time: src/rules/engine.ts).
    expect(off.filter((id) => id.includes('/@marcbachmann/cel-js/'))).toEqual([]);
    const on = await serveAndProbe('tracing: { enabled: true }\n', { OTEL_TRACES_EXPORTER: 'none' });
    expect(sdkModules(on)).toContainEqual(expect.stringContaining('/@opentelemetry/sdk-trace-base/'));
  });
});
