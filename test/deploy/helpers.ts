// Shared by the test/deploy tests and the e2e tier's deploy tests: validating configs with the built CLI, and a Check
// client that answers as Envoy would. Rendering the kustomizations (kubectl) is in test/e2e/deploy/render.ts.
// Processes, ports, HTTP, Envoy and ConfigMap volumes come from test/helpers/.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createCheckClient } from '../../src/grpc/check_client.js';
import { ROOT } from '../helpers/paths.js';
import { TOKENGATE_CLI } from '../helpers/tokengate_process.js';

export const DEPLOY = join(ROOT, 'deploy');

// ---------------------------------------------------------------------------------------------------------------
// The built CLI

/** dist/ is what the image runs; build it when missing (npm test's pretest builds it anyway). */
export function ensureBuilt(): void {
  if (existsSync(TOKENGATE_CLI)) return;
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
}

export function tokengateValidate(file: string, cli = TOKENGATE_CLI, cwd = ROOT): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [cli, 'validate', file], { cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

// ---------------------------------------------------------------------------------------------------------------
// A Check client (src/grpc/check_client.ts, on the fetched Envoy protos the image ships) whose answers read as the
// HTTP response Envoy would give.

export interface CheckResult {
  /** HTTP status Envoy would answer with: 200 for an allow, else the denied_response status. */
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string>;
}

const HTTP_STATUS: Record<string, number> = { Unauthorized: 401, Forbidden: 403, ServiceUnavailable: 503, InternalServerError: 500 };

export interface AuthzClient {
  check(request: { path: string; headers?: Record<string, string>; contextExtensions?: Record<string, string> }): Promise<CheckResult>;
  close(): void;
}

export function authzClient(address: string): AuthzClient {
  const client = createCheckClient(address);
  return {
    async check({ path, headers = {}, contextExtensions = {} }) {
      const http = {
        method: 'GET',
        path,
        host: 'api.example.com',
        scheme: 'http',
        protocol: 'HTTP/1.1',
        headers: { ':authority': 'api.example.com', ':method': 'GET', ':path': path, ':scheme': 'http', ...headers },
      };
      const res = await client.check({ attributes: { request: { http }, context_extensions: contextExtensions } }, 5000);
      const allowed = res.status?.code === 0 || res.status?.code === undefined;
      const denied = res.denied_response;
      const optionHeaders = (allowed ? res.ok_response?.headers : denied?.headers) ?? [];
      // The loader decodes enums as their names ("Unauthorized").
      const deniedCode: unknown = denied?.status?.code;
      return {
        status: allowed ? 200 : (HTTP_STATUS[String(deniedCode)] ?? Number(deniedCode)),
        body: denied?.body ?? '',
        headers: Object.fromEntries(optionHeaders.map((h) => [h.header.key, h.header.value])),
      };
    },
    close: () => client.close(),
  };
}
