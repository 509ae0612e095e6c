import { configDefaults, defineConfig } from 'vitest/config';

// `npm run test:e2e:tracing` (scripts/e2e.mjs --tracing sets TOKENGATE_E2E_TIER=tracing) runs test/e2e/tracing/ alone,
// with only Envoy and Jaeger installed; `npm run test:e2e` runs it with the rest.
const TRACING = 'test/e2e/tracing/**';
const tracingTier = process.env.TOKENGATE_E2E_TIER === 'tracing';

// The tier that needs tools beyond Node.js and npm: a real Envoy (installed by scripts/install-envoy.sh into the
// per-machine tools cache) in front of tokengate, nginx and Caddy (scripts/install-proxy.sh) in front of its HTTP
// authorization listener, kubectl for rendering deploy/, and promtool and Helm (scripts/install-promtool.sh,
// scripts/install-helm.sh) for the alert rules and the Helm chart.
// Run with `npm run test:e2e` (scripts/e2e.mjs): it installs Envoy, nginx, Caddy, promtool and Helm when missing,
// builds, and passes ENVOY_BIN, NGINX_BIN, CADDY_BIN, PROMTOOL_BIN and HELM_BIN.
export default defineConfig({
  test: {
    include: tracingTier ? [`${TRACING}/*.test.ts`] : ['test/e2e/**/*.test.ts'],
    exclude: configDefaults.exclude,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Files bind ports and spawn Envoy: run them one at a time on the 2-core machines.
    fileParallelism: false,
  },
});
