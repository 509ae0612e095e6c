// RESULTS.md: two cores (workers), time to ready, through Envoy, the commands run, and notes.
import { VARIANTS as ENVOY_VARIANTS } from '../envoy_config.mjs';
import { SCN, SYS, ms, num, signedMs, table, workersScaling } from './report_format.mjs';

/** A workers-section cell by its column's head, from one result set's medians. */
const CELLS = {
  System: (v) => SYS[v.system],
  Scenario: (v) => SCN[v.scenario],
  Processes: (v) => String(v.workers),
  RPS: (v) => num(v.median.rps),
  'p50 ms': (v) => ms(v.median.p50),
  'p99 ms': (v) => ms(v.median.p99),
  'mean ms': (v) => ms(v.median.averageMs),
  'server CPU %': (v) => num(v.median.cpuPct),
  'ghz CPU %': (v) => num(v.median.clientCpuPct),
  'h2load CPU %': (v) => num(v.median.clientCpuPct),
  'peak RSS MB (sum)': (v) => num(v.median.peakRssMb),
};

/** A table of the result sets (`system:scenario:wN` → { median }) that have medians, in the columns `heads`. */
const medianTable = (results, heads) =>
  table(
    heads,
    Object.values(results)
      .filter((v) => v.median)
      .map((v) => heads.map((h) => CELLS[h](v))),
  );

/** Appends these sections for the results `R` through `p`; `resultsPath` is results.json relative to the repository. */
export function moreSections(R, p, resultsPath) {
  const S = R.sections ?? {};
  const C = R.config;
  if (S.workers) {
    p('## Two cores: one process vs workers (nothing pinned, ghz --connections 2)', '');
    if (S.workers.supported?.tokengate === false)
      p(
        `tokengate rejected \`server.workers: ${C.tgWorkers}\` (${S.workers.supported.tokengateError}); only the single process was measured.`,
      );
    const heads = ['System', 'Scenario', 'Processes', 'RPS', 'p50 ms', 'p99 ms', 'server CPU %', 'ghz CPU %'];
    p(medianTable(S.workers.results, [...heads, 'peak RSS MB (sum)']));
    const sr = [];
    for (const [sys, sc] of [
      ['ceiling', 'a'],
      ['tokengate', 'a'],
      ['tokengate', 'b'],
    ]) {
      const { ratio: r } = workersScaling(S.workers.results, sys, sc);
      if (r !== null) sr.push(`${SYS[sys]} ${SCN[sc]}: ${r.toFixed(2)}×`);
    }
    if (sr.length) p(`Scaling (workers ÷ one process): ${sr.join('; ')}.`);
    const h = S.workers.h2load;
    if (h?.skipped) p('', `The h2load runs were skipped: ${h.skipped}.`);
    else if (h?.results) {
      p(
        '',
        `### The same with h2load as the client (${h.version ?? 'h2load'}; 2 connections × ${Math.ceil(C.concurrency / 2)} streams)`,
        '',
        "ghz needs about half a core for 7,000 calls/s on these same two vCPUs, which caps what two server processes can show. h2load (C) costs much less per call. It sends one fixed request (the first of scenario (a)) on every stream and does not read grpc-status, so a tokengate run counts only if tokengate's decision counters show an allow for every call h2load completed and no denial. It reports no latency percentiles: the mean is shown.",
        '',
      );
      const heads = ['System', 'Processes', 'RPS', 'mean ms', 'server CPU %', 'h2load CPU %', 'peak RSS MB (sum)'];
      p(medianTable(h.results, heads));
      const hsr = ['ceiling', 'tokengate']
        .map((sys) => [sys, workersScaling(h.results, sys).ratio])
        .filter(([, r]) => r !== null);
      if (hsr.length)
        p(
          '',
          `Scaling with h2load (workers ÷ one process): ${hsr.map(([sys, r]) => `${SYS[sys]}: ${r.toFixed(2)}×`).join('; ')}.`,
        );
    }
  }

  if (S.ready) {
    p('## Time to ready', '');
    p(
      `From spawning \`node dist/bundle/tokengate.mjs serve\` to the first 200 from /readyz (polled every 2 ms), the issuer answering discovery and JWKS after ${S.ready.issuerDelayMs} ms: ` +
        `median **${num(S.ready.medianMs)} ms** over ${S.ready.runs.length} runs (${S.ready.runs.map((r) => num(r.readyMs)).join(', ')} ms; ops port first answering at ${S.ready.runs.map((r) => num(r.opsListeningMs)).join(', ')} ms). A bare \`node -e ''\` takes ${num(S.ready.nodeBareStartMs)} ms here.`,
    );
  }

  if (S.envoy) {
    p('## Through Envoy', '');
    const ev = S.envoy;
    if (ev.skipped) p(`Skipped: ${ev.skipped}.`);
    else {
      p(
        `ghz → Envoy ${R.versions.envoy ?? ''} (\`--concurrency ${ev.concurrency}\`, configs \`${Object.values(ev.validated).join('`, `')}\`, each passed \`envoy --mode validate\`) → gRPC upstream (\`bench/ceiling_server.mjs\`). ` +
          `The client sends \`authorization: Bearer <RS256 token>\` (one token, repeated) as gRPC metadata, ghz \`--connections ${ev.connections}\`, \`-c ${C.concurrency}\`. Nothing pinned: ghz, Envoy, tokengate and the upstream share the ${R.machine.nproc} vCPUs. ` +
          `jwt_authn: same JWKS (local file), issuer, audience, RBAC filter for the scope rule, \`jwt_cache_config\` 100 tokens. ext_authz: the shipped envoy/envoy.yaml settings. ext_authz → allow-all grpc-js server: the same filter with \`bench/ceiling_server.mjs\` as the authorization service, so it shows what the hop costs when the server does nothing.`,
      );
      p(
        `Preflight: ${Object.entries(ev.preflight)
          .map(([k, v]) => `${k}: valid → ${v.valid}, forged → ${v.forged}`)
          .join('; ')}.`,
      );
      // `tokengate` in cpuUsPerReq is whichever process answered the ext_authz hop (tokengate or the allow-all server).
      const cpuPerHop = (m) =>
        [m.cpuUsPerReq.envoy, m.cpuUsPerReq.tokengate, m.cpuUsPerReq.upstream].map((c) => num(c)).join(' / ');
      const vnames = {
        noauth: 'no auth filter',
        jwt_authn: 'jwt_authn (+RBAC scope)',
        ext_authz: 'ext_authz → tokengate',
        ext_authz_ceiling: "ext_authz → allow-all grpc-js server (the hop's ceiling)",
      };
      p('Maximum rate (closed loop):', '');
      p(
        table(
          ['Variant', 'RPS', 'p50 ms', 'p99 ms', 'CPU µs/req (Envoy / ext_authz server / upstream)', 'ghz CPU %'],
          Object.entries(ev.max).map(([v, x]) => [
            vnames[v],
            num(x.median.rps),
            ms(x.median.p50),
            ms(x.median.p99),
            cpuPerHop(x.median),
            num(x.median.clientCpuPct),
          ]),
        ),
      );
      p('Fixed request rates: latency and what each auth setup adds over no-auth:', '');
      const rows = [];
      for (const rate of ev.rates ?? []) {
        const f = ev.fixed[rate];
        if (!f) continue;
        for (const v of ENVOY_VARIANTS) {
          if (!f[v]) continue;
          const x = f[v].median;
          const base = f.noauth.median;
          rows.push([
            num(rate),
            vnames[v],
            num(x.rps),
            ms(x.p50),
            ms(x.p99),
            v === 'noauth' ? '–' : signedMs(x.p50 - base.p50),
            v === 'noauth' ? '–' : signedMs(x.p99 - base.p99),
            cpuPerHop(x),
          ]);
        }
      }
      p(
        table(
          [
            'offered /s',
            'Variant',
            'achieved /s',
            'p50 ms',
            'p99 ms',
            'added p50 ms',
            'added p99 ms',
            'CPU µs/req (Envoy / ext_authz server / upstream)',
          ],
          rows,
        ),
      );
      const view = [];
      // Envoy records upstream_rq_time in whole milliseconds: a sub-millisecond answer is a 0.
      const one = (v) => (v < 1 ? '< 1' : ms(v));
      const q = (x) => (x ? `${one(x.p50)} / ${one(x.p90)} / ${one(x.p99)}` : '–');
      for (const rate of ev.rates ?? []) {
        const a = ev.fixed[rate]?.ext_authz?.median?.answerMs;
        if (!a?.tokengate || !a?.upstream) continue;
        view.push([
          num(rate),
          q(a.tokengate),
          q(ev.fixed[rate]?.ext_authz_ceiling?.median?.answerMs?.tokengate),
          q(a.upstream),
        ]);
      }
      if (view.length) {
        p(
          "The same ext_authz runs as Envoy sees each hop (`upstream_rq_time`: request sent to answer complete, recorded in whole milliseconds, so a sub-millisecond answer counts as 0; Envoy's histogram buckets are coarse, 0.5-1-5-10-25-50 ms, interpolated; the 1 s warm-up included). tokengate's answers against those of the allow-all grpc-js server (`bench/ceiling_server.mjs`), once as the ext_authz service (the ext_authz_ceiling runs) and once as the upstream behind the same Envoy:",
          '',
        );
        p(
          table(
            [
              'offered /s',
              'ext_authz → tokengate p50 / p90 / p99 ms',
              'ext_authz → allow-all grpc-js p50 / p90 / p99 ms',
              'no-op grpc-js upstream p50 / p90 / p99 ms',
            ],
            view,
          ),
        );
      }
    }
  }

  p('## Commands', '');
  p('Exact command lines (first occurrence of each kind; ports and files as used):', '');
  p(
    '```sh',
    'bash scripts/install-bench-tools.sh',
    'npm run build',
    'node bench/make_data.mjs',
    ...(R.commands ?? []).map((c) => `# ${c.kind}\n${c.cmd}`),
    '```',
  );

  p('## Notes', '');
  p(
    `- ghz itself is expensive per call (dynamic protobuf messages): with templates disabled (\`--disable-template-functions --disable-template-data\`, as here) it still needs roughly as much CPU per Check as the grpc-js server for this ~1.5 KB message. The "ghz CPU %" column shows when the pinned client was the limit (≥ 90 % with the server below 90 %): then the ceiling is a client ceiling and ratios against it flatter tokengate.`,
    `- ghz -z stops with calls in flight; those (at most one per worker) fail with "use of closed network connection" and are not counted as errors here (errors column counts the rest).`,
    `- "token set wrapped": a run sent more requests than the set has distinct tokens, so tokens came round again (a cache that holds more than the set would then hit).`,
    `- Raw data: \`${resultsPath}\` (every run), ghz summaries in \`bench/out/ghz/\`, server logs in \`bench/out/logs/\`. CPU profiles of tokengate: \`BENCH_CPU_PROF=1 bash bench/run.sh\`, then \`node bench/profile_summary.mjs bench/out/prof/*.cpuprofile\`.`,
  );
}
