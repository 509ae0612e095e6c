// The bench's OIDC issuer: the development issuer (dist/dev_issuer) on the port baked into the tokens, publishing
// the keys make_data.mjs signed them with. Its JWKS hit counter tells how often a system under test fetched keys.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { DATA, PORTS, ROOT, log } from './config.mjs';
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
  const introspection = await startIntrospection(manifest);
  log(`issuer ${dev.issuer} (discovery + JWKS), introspection ${introspection.endpoint}`);
  return {
    issuer: dev.issuer,
    manifest,
    hits: dev.hits,
    introspection,
    /** Every answer after `ms` (the ready section: an issuer that is not instantaneous); 0 ends it. */
    setDelay: (ms) => dev.setFault(ms > 0 ? { kind: 'delay', ms } : undefined),
    close: async () => {
      await dev.close();
      await introspection.close();
    },
  };
}

/** tokengate's client secret at the bench's introspection endpoint. */
export const INTROSPECTION_CLIENT = { id: 'tokengate-bench', secret: 'bench-introspection-secret' };

/**
 * An RFC 7662 endpoint for scenario (f): the opaque tokens of make_data.mjs are active, with the claims a JWT of the
 * bench would carry; anything else is inactive. It answers once per token per cache lifetime, so its speed is not
 * part of the cached figure; `hits` tells how often it was asked.
 */
async function startIntrospection(manifest) {
  const known = new Set(JSON.parse(readFileSync(join(DATA, 'opaque_tokens.json'), 'utf8')));
  const expected = `Basic ${Buffer.from(`${INTROSPECTION_CLIENT.id}:${INTROSPECTION_CLIENT.secret}`).toString('base64')}`;
  const hits = { calls: 0 };
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      hits.calls++;
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
        return;
      }
      const token = new URLSearchParams(body).get('token') ?? '';
      const now = Math.floor(Date.now() / 1000);
      const answer = known.has(token)
        ? {
            active: true,
            iss: manifest.issuer,
            aud: manifest.audience,
            scope: `${manifest.scope} profile`,
            client_id: 'bench-client',
            sub: `user-opaque-${token.slice(4, 12)}`,
            token_type: 'Bearer',
            iat: now,
            exp: now + 3600,
          }
        : { active: false };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(PORTS.introspection, '127.0.0.1', resolve);
  });
  return {
    endpoint: `http://127.0.0.1:${PORTS.introspection}/introspect`,
    hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
