// The dev issuer's hooks (key added, JWKS served, fault per request) and key import: what the bench and the soak
// use instead of patching the issuer. Real HTTP, verified with jose's own remote JWKS client.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { startDevIssuer, type DevIssuer, type IssuerFault, type Route } from '../src/dev_issuer/dev_issuer.js';
import { JwsSigner } from '../src/dev_issuer/jws.js';

let issuer: DevIssuer | undefined;
afterEach(async () => {
  await issuer?.close();
  issuer = undefined;
});

async function jwksKids(url: string): Promise<string[]> {
  const res = await fetch(url);
  return ((await res.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
}

describe('dev issuer hooks', () => {
  it('keyAdded reports every key with a private key that signs tokens the served JWKS verifies', async () => {
    const added: { kid: string; alg: string; privateKey: KeyObject; listedBefore: boolean }[] = [];
    issuer = await startDevIssuer({
      algorithms: ['ES256', 'RS256'],
      hooks: {
        // Runs as the key enters the ring: the key is already listed, and no JWKS response came in between.
        keyAdded: (key) => added.push({ ...key, listedBefore: issuer?.keys().some((k) => k.kid === key.kid) ?? true }),
      },
    });
    const rotated = await issuer.addKey('ES256', 'rotated');
    expect(added.map((k) => k.alg)).toEqual(['ES256', 'RS256', 'ES256']);
    expect(added.map((k) => k.kid)).toEqual([...issuer.keys().map((k) => k.kid)]);
    expect(added.at(-1)).toMatchObject({ kid: rotated, listedBefore: true });

    const jwks = createRemoteJWKSet(new URL(issuer.jwksUri));
    for (const key of added) {
      const token = new JwsSigner(key.alg, key.privateKey, { kid: key.kid, typ: 'JWT' }).sign({ sub: key.kid });
      const { payload, protectedHeader } = await jwtVerify(token, jwks);
      expect(payload.sub).toBe(key.kid);
      expect(protectedHeader).toEqual({ kid: key.kid, typ: 'JWT', alg: key.alg });
    }
  });

  it('importKey publishes a key made beforehand: tokens signed with it earlier and the issuer`s own verify', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = String(privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const earlier = new JwsSigner('RS256', privateKey, { kid: 'bench-rs' }).sign({ sub: 'earlier' });
    const impostor = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const seen: string[] = [];
    issuer = await startDevIssuer({ algorithms: [], hooks: { keyAdded: (key) => seen.push(key.kid) } });
    const kid = await issuer.importKey('RS256', pem, 'bench-rs');
    expect(kid).toBe('bench-rs');
    expect(seen).toEqual(['bench-rs']);
    expect(await jwksKids(issuer.jwksUri)).toEqual(['bench-rs']);

    const jwks = createRemoteJWKSet(new URL(issuer.jwksUri));
    expect((await jwtVerify(earlier, jwks)).payload.sub).toBe('earlier');
    const own = await issuer.sign({ scp: 'x' }, { kid });
    expect(decodeProtectedHeader(own).kid).toBe('bench-rs');
    expect((await jwtVerify(own, jwks, { issuer: issuer.issuer })).payload.scp).toBe('x');
    // Another key under the same kid does not verify: the import published this PEM's public key.
    const forged = new JwsSigner('RS256', impostor, { kid: 'bench-rs' }).sign({ sub: 'x' });
    await expect(jwtVerify(forged, jwks)).rejects.toThrow(/signature/);
    await expect(issuer.importKey('RS256', 'not a pem', 'other')).rejects.toThrow();
    await expect(issuer.importKey('RS256', pem, 'bench-rs')).rejects.toThrow(/already in use/);
  });

  it('jwksServed fires once per JWKS document written, with its kids and time, and not for faults or discovery', async () => {
    const served: { kids: string[]; at: number }[] = [];
    issuer = await startDevIssuer({ algorithms: ['ES256'], hooks: { jwksServed: (s) => served.push(s) } });
    const [first] = issuer.keys().map((k) => k.kid);
    const t0 = Date.now();
    await jwksKids(issuer.jwksUri);
    await fetch(issuer.discoveryUrl);
    expect(served).toEqual([{ kids: [first], at: expect.any(Number) }]);
    expect(served[0]!.at).toBeGreaterThanOrEqual(t0);

    issuer.setFault({ kind: 'status', status: 503 }, 'jwks');
    expect((await fetch(issuer.jwksUri)).status).toBe(503);
    expect(served).toHaveLength(1);
    issuer.setFault(undefined);

    const second = await issuer.addKey('ES256');
    issuer.removeKey(first!);
    await jwksKids(issuer.jwksUri);
    expect(served.map((s) => s.kids)).toEqual([[first], [second]]);
  });

  it('the fault hook decides per request, ahead of setFault, and a malformed fault answers 500', async () => {
    const asked: Route[] = [];
    let next: IssuerFault | undefined;
    issuer = await startDevIssuer({
      algorithms: ['ES256'],
      hooks: {
        fault: (route) => {
          asked.push(route);
          const fault = next;
          next = undefined; // one request only
          return fault;
        },
      },
    });
    issuer.setFault({ kind: 'status', status: 404 }, 'jwks');
    next = { kind: 'status', status: 503 };
    expect((await fetch(issuer.jwksUri)).status).toBe(503); // the hook's fault wins
    expect((await fetch(issuer.jwksUri)).status).toBe(404); // then setFault's again
    issuer.setFault(undefined);
    expect((await fetch(issuer.jwksUri)).status).toBe(200);

    // A delay holds that request alone: the next one is answered while it waits.
    next = { kind: 'delay', ms: 60_000 };
    let delayedSettled = false;
    const delayed = fetch(issuer.discoveryUrl).finally(() => (delayedSettled = true));
    const failed = expect(delayed).rejects.toThrow(); // stop() cuts it off below
    expect((await fetch(issuer.jwksUri)).status).toBe(200);
    expect(delayedSettled).toBe(false);

    next = { kind: 'status', status: 99 };
    const bad = await fetch(issuer.jwksUri);
    expect(bad.status).toBe(500);
    expect(await bad.text()).toMatch(/fault status must be an integer/);
    expect(asked).toEqual(['jwks', 'jwks', 'jwks', 'discovery', 'jwks', 'jwks']);
    await issuer.stop();
    await failed;
  });
});
