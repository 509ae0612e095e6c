import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without type declarations
import { listedFiles, verify } from '../scripts/fetch-protos.mjs';
import { loadAuthorizationService } from '../src/grpc/protos.js';
import { PROTO_DIR } from '../src/paths.js';

describe('Envoy protos fetched at install time', () => {
  it('match the committed SHA-256 manifest, file by file', () => {
    expect(verify()).toEqual([]);
    const manifest = readFileSync(join(PROTO_DIR, 'MANIFEST.sha256'), 'utf8');
    const files = listedFiles() as { path: string }[];
    expect(files).toHaveLength(19);
    for (const { path } of files) {
      const text = readFileSync(join(PROTO_DIR, path));
      expect(text.includes('\r\n'), `${path} has CRLF`).toBe(false);
      expect(manifest).toContain(`${createHash('sha256').update(text).digest('hex')}  ${path}`);
    }
  });

  it('load envoy.service.auth.v3.Authorization with the Check method', () => {
    const service = loadAuthorizationService();
    expect(service.Check?.path).toBe('/envoy.service.auth.v3.Authorization/Check');
    expect(service.Check?.requestStream).toBe(false);
  });
});
