// The bench's OIDC issuer: the development issuer (dist/dev_issuer) on the port baked into the tokens, publishing
// the keys make_data.mjs signed them with. Its JWKS hit counter tells how often a system under test fetched keys.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATA, ROOT, log } from './config.mjs';
import { dataKeys } from './data_keys.mjs';

const { startDevIssuer } = await import(join(ROOT, 'dist', 'dev_issuer', 'dev_issuer.js'));

/** { issuer, manifest, hits, setDelay(ms), close() }: discovery + JWKS on loopback. */
export async function startIssuer() {
  const manifest = JSON.parse(readFileSync(join(DATA, 'manifest.json'), 'utf8'));
  const url = new URL(manifest.issuer);
  const dev = await startDevIssuer({
    port: Number(url.port),
    issuerPath: url.pathname,
    algorithms: [],
    cacheMaxAge: 300,
    defaultAudience: manifest.audience,
  });
  if (dev.issuer !== manifest.issuer) throw new Error(`issuer ${dev.issuer} is not the tokens' ${manifest.issuer}`);
  const keys = dataKeys(join(DATA, 'keys'));
  for (const alg of ['RS256', 'ES256']) await dev.importKey(alg, keys[alg].pem, keys[alg].kid);
  log(`issuer ${dev.issuer} (discovery + JWKS)`);
  return {
    issuer: dev.issuer,
    manifest,
    hits: dev.hits,
    /** Every answer after `ms` (the ready section: an issuer that is not instantaneous); 0 ends it. */
    setDelay: (ms) => dev.setFault(ms > 0 ? { kind: 'delay', ms } : undefined),
    close: () => dev.close(),
  };
}
