import { defineConfig } from 'vitest/config';

// End-to-end tests that start real processes (Envoy from scripts/install-envoy.sh, tokengate, upstreams).
// Run with: npx vitest run -c vitest.e2e.config.ts
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Files bind ports and spawn Envoy: run them one at a time on the 2-core machines.
    fileParallelism: false,
  },
});
