// deploy/base/envoy.yaml is generated from envoy/envoy.yaml (scripts/render-deploy.mjs); a stale copy fails here.
// The rendered kustomizations, and `envoy --mode validate` of what they carry, are in the e2e tier
// (test/e2e/deploy/manifests.test.ts): they need kubectl and Envoy.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderDeployEnvoyConfig } from '../../scripts/render-deploy.mjs';
import { ROOT } from '../helpers/paths.js';
import { DEPLOY } from './helpers.js';

describe('deploy/base/envoy.yaml', () => {
  it('is exactly a fresh render of envoy/envoy.yaml (run `node scripts/render-deploy.mjs` after changing it)', () => {
    const fresh = renderDeployEnvoyConfig(readFileSync(join(ROOT, 'envoy/envoy.yaml'), 'utf8'));
    expect(readFileSync(join(DEPLOY, 'base/envoy.yaml'), 'utf8')).toBe(fresh);
  });
});
