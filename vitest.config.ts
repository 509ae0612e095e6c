import { defineConfig } from 'vitest/config';

// The default tier (`npm test`): needs only Node.js and npm. test/e2e/ is the tier that needs Envoy and kubectl
// (vitest.e2e.config.ts, `npm run test:e2e`).
const FRESH_CLONE = 'test/fresh_clone.test.ts';

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'default',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**', 'node_modules/**', FRESH_CLONE],
          sequence: { groupOrder: 0 },
        },
      },
      {
        // Runs the default tier again in a fresh clone, so it starts once the others are done (a later group)
        // instead of doubling the load while they run.
        extends: true,
        test: { name: 'fresh-clone', include: [FRESH_CLONE], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
