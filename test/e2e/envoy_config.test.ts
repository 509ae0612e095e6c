// The shipped envoy/envoy.yaml, and its renders, must pass `envoy --mode validate` with the Envoy we install.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderEnvoyConfig } from '../../scripts/render-envoy-config.mjs';
import { envoyBin, envoyValidate } from '../helpers/envoy_binary.js';
import { ROOT } from '../helpers/paths.js';
import { parse as parseYaml } from 'yaml';
import { createTestCa } from '../helpers/certificates.js';
import { SHIPPED_MTLS_ENVOY_CONFIG, withTlsFiles, withoutMtlsAdditions } from './helpers/envoy_mtls.js';

const SHIPPED = join(ROOT, 'envoy/envoy.yaml');

const tmp = mkdtempSync(join(tmpdir(), 'tokengate-envoy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('envoy/envoy.yaml', () => {
  const shipped = readFileSync(SHIPPED, 'utf8');

  it('is Envoy 1.40', () => {
    const r = spawnSync(envoyBin(), ['--version'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\/1\.40\.\d+\//);
  });

  it('passes envoy --mode validate as shipped', () => {
    const r = envoyValidate(SHIPPED);
    expect(r.output).toContain('OK');
    expect(r.status, r.output).toBe(0);
  });

  it('passes envoy --mode validate with the tokengate cluster on a Unix socket', () => {
    const socket = join(tmp, 'authz.sock');
    const text = renderEnvoyConfig(shipped, { tokengateSocket: socket });
    expect(text).toContain(`pipe: { path: ${socket} }`);
    expect(text).not.toContain('port_value: 9191');
    const file = join(tmp, 'envoy-uds.yaml');
    writeFileSync(file, text);
    const r = envoyValidate(file);
    expect(r.status, r.output).toBe(0);
  });

  it('passes envoy --mode validate with every port substituted', () => {
    const ports = { listenerPort: 21080, adminPort: 21901, tokengatePort: 21191, upstreamPort: 21081, upstreamGrpcPort: 21082 };
    const text = renderEnvoyConfig(shipped, ports);
    for (const old of [8080, 9901, 9191, 8081, 8082]) expect(text).not.toContain(`port_value: ${old} `);
    for (const p of Object.values(ports)) expect(text).toContain(`port_value: ${p} `);
    const file = join(tmp, 'envoy-ports.yaml');
    writeFileSync(file, text);
    const r = envoyValidate(file);
    expect(r.status, r.output).toBe(0);
  });

  it('renders byte-identically without options (comments and layout survive)', () => {
    expect(renderEnvoyConfig(shipped)).toBe(shipped);
  });

  it('keeps each default port in exactly one place, for textual substitution', () => {
    for (const p of [8080, 9901, 9191, 8081, 8082]) {
      expect(shipped.split(String(p)).length - 1, `port ${p}`).toBe(1);
    }
  });
});

describe('envoy/envoy-mtls.yaml (mutual TLS, for certificate-bound tokens)', () => {
  const mtls = readFileSync(SHIPPED_MTLS_ENVOY_CONFIG, 'utf8');

  it('passes envoy --mode validate, with certificates at the files it names (Envoy reads them)', () => {
    const ca = createTestCa();
    try {
      const file = join(tmp, 'envoy-mtls.yaml');
      writeFileSync(file, withTlsFiles(mtls, ca, ca.issue('envoy', { serverNames: ['127.0.0.1'] })));
      const r = envoyValidate(file);
      expect(r.output).toContain('OK');
      expect(r.status, r.output).toBe(0);
    } finally {
      ca.remove();
    }
  });

  it('is envoy/envoy.yaml plus the TLS transport socket and include_peer_certificate, nothing else', () => {
    expect(mtls).toContain('require_client_certificate: true');
    expect(mtls).toContain('include_peer_certificate: true');
    expect(withoutMtlsAdditions(mtls)).toEqual(parseYaml(readFileSync(SHIPPED, 'utf8')));
  });

  it('renders with every port substituted, as envoy.yaml does', () => {
    const ports = { listenerPort: 22080, adminPort: 22901, tokengatePort: 22191, upstreamPort: 22081, upstreamGrpcPort: 22082 };
    const text = renderEnvoyConfig(mtls, ports);
    for (const p of Object.values(ports)) expect(text).toContain(`port_value: ${p} `);
    for (const p of [8080, 9901, 9191, 8081, 8082]) expect(mtls.split(String(p)).length - 1, `port ${p}`).toBe(1);
  });
});
