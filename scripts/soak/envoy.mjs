// A real Envoy in front of tokengate for `--via-envoy`: the shipped envoy/envoy.yaml rendered with this run's ports
// (scripts/render-envoy-config.mjs, listener on loopback), the trivial upstream (upstream.mjs) behind it.
// The binary: $ENVOY_BIN, else what scripts/install-envoy.sh installs or finds (its last line of output).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderEnvoyConfig } from '../render-envoy-config.mjs';
import { fail, freePort, log, procReader, ROOT, startChild, waitFor } from './procs.mjs';

function envoyBinary() {
  if (process.env.ENVOY_BIN) return process.env.ENVOY_BIN;
  log('finding Envoy with scripts/install-envoy.sh (set ENVOY_BIN to skip)');
  try {
    const out = execFileSync('bash', [join(ROOT, 'scripts/install-envoy.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    return out.trim().split('\n').at(-1);
  } catch {
    return fail('no Envoy: scripts/install-envoy.sh failed (see above), and ENVOY_BIN is not set');
  }
}

/** The counters kept: ext_authz verdicts, responses by class, the tokengate cluster's calls, resets and timeouts. */
const STATS = [
  '^http\\.ingress_http\\.(ext_authz\\.|downstream_rq_[0-9]xx$)',
  '^cluster\\.tokengate\\.upstream_(rq_total|rq_timeout|rq_[0-9]xx|rq_rx_reset|rq_tx_reset|cx_total)$',
].join('|');

const admin = async (port, path) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  if (res.status !== 200) throw new Error(`envoy admin ${path}: HTTP ${res.status}`);
  return res.text();
};

export async function startEnvoy({ tokengatePort, workDir, outBase }) {
  const [listenerPort, adminPort, upstreamPort, upstreamGrpcPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const upstreamLog = `${outBase}.upstream.log`;
  const upstream = startChild(process.execPath, [join(ROOT, 'scripts/soak/upstream.mjs'), String(upstreamPort)], {
    logFile: upstreamLog,
  });
  await waitFor('the upstream', async () => (await fetch(`http://127.0.0.1:${upstreamPort}/`)).status === 200, {
    timeoutMs: 10_000,
    child: upstream,
    logFile: upstreamLog,
  });
  const configFile = join(workDir, 'envoy.yaml');
  const shipped = readFileSync(join(ROOT, 'envoy/envoy.yaml'), 'utf8');
  const ports = { listenerPort, adminPort, tokengatePort, upstreamPort, upstreamGrpcPort };
  writeFileSync(configFile, renderEnvoyConfig(shipped, { ...ports, listenerAddress: '127.0.0.1' }));
  const logFile = `${outBase}.envoy.log`;
  const bin = envoyBinary();
  const versionLine = execFileSync(bin, ['--version'], { encoding: 'utf8' });
  const version = /\/(\d+\.\d+\.\d+)\//.exec(versionLine)?.[1] ?? versionLine.trim();
  // No shared memory or base id, so that it never collides with other Envoys on the machine. The shipped config's
  // access log (a line per request on stdout) is kept, and thrown away: its cost is part of what users run.
  const args = ['-c', configFile, '--disable-hot-restart', '--concurrency', '2', '--log-level', 'warn'];
  args.push('--log-path', logFile, '--drain-time-s', '1', '--parent-shutdown-time-s', '2');
  const child = startChild(bin, args, { logFile, stdoutFile: '/dev/null' });
  await waitFor('envoy admin /ready LIVE', async () => (await admin(adminPort, '/ready')).trim() === 'LIVE', {
    timeoutMs: 30_000,
    child,
    logFile,
  });
  const healthy = /^tokengate::[^\n]*::health_flags::healthy$/m;
  await waitFor(
    'the tokengate host healthy in envoy /clusters',
    async () => healthy.test(await admin(adminPort, '/clusters')),
    {
      timeoutMs: 20_000,
      child,
      logFile,
    },
  );
  return {
    child,
    upstream,
    version,
    listenerPort,
    logFile,
    proc: procReader(child.pid),
    /** Envoy's counters for the checks: ext_authz verdicts, responses by class, the tokengate cluster's calls. */
    async stats() {
      try {
        const text = await admin(adminPort, `/stats?filter=${encodeURIComponent(STATS)}`);
        const out = {};
        for (const line of text.split('\n')) {
          const m = /^([^:\s]+): (\d+)$/.exec(line.trim());
          if (m) out[m[1]] = Number(m[2]);
        }
        return out;
      } catch (err) {
        return { error: String(err) };
      }
    },
    async stop() {
      const envoy = await child.stop('SIGTERM', 10_000);
      await upstream.stop('SIGTERM', 5_000);
      return envoy;
    },
  };
}
