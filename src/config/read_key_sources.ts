import { issuerImpliedBy } from '../net/discovery_url.js';
import { isLoopbackHost } from '../net/loopback.js';
import {
  Problems,
  join,
  list,
  mapping,
  mappingList,
  optionalString,
  requiredString,
  stringList,
  type Raw,
} from './reader.js';
import type { DecryptionKeyConfig, JwksUriEntry, KeysConfig, OpenIdConfigEntry, StaticKeyConfig } from './types.js';

export function readOpenIdConfig(o: Raw, path: string, problems: Problems, keys: KeysConfig): OpenIdConfigEntry[] {
  return mappingList(o, 'openidConfig', path, problems, ['url', 'issuer', 'issuers'], (entry, itemPath) => {
    const url = requiredString(entry, 'url', itemPath, problems);
    if (url === undefined) return undefined;
    checkKeyUrl(url, join(itemPath, 'url'), problems, keys);
    const given = optionalString(entry, 'issuer', itemPath, problems);
    const implied = issuerImpliedBy(url);
    if (given === undefined && 'unknown' in implied) {
      problems.add(
        itemPath,
        `the issuer cannot be read from this URL (${implied.unknown}): add issuer: "<the issuer the document names>" ` +
          '(OpenID Connect Discovery 1.0 §4.3: the document must name exactly that issuer)',
      );
    }
    return {
      url,
      issuer: given ?? ('issuer' in implied ? implied.issuer : url),
      issuerImplied: given === undefined,
      issuers: readSignsFor(entry, itemPath, problems),
    };
  });
}

/** `jwksUri` items: a URL, or `{ url, issuers }` naming the issuers its keys sign for. */
export function readJwksUri(o: Raw, path: string, problems: Problems, keys: KeysConfig): JwksUriEntry[] {
  const out: JwksUriEntry[] = [];
  (list(o.jwksUri ?? [], join(path, 'jwksUri'), problems) ?? []).forEach((item, i) => {
    const itemPath = join(join(path, 'jwksUri'), i);
    if (typeof item === 'string') {
      checkKeyUrl(item, itemPath, problems, keys);
      out.push({ url: item, issuers: undefined });
      return;
    }
    const entry = mapping(item, itemPath, problems, ['url', 'issuers']);
    const url = entry && requiredString(entry, 'url', itemPath, problems);
    if (!entry || url === undefined) return;
    checkKeyUrl(url, join(itemPath, 'url'), problems, keys);
    out.push({ url, issuers: readSignsFor(entry, itemPath, problems) });
  });
  return out;
}

function readSignsFor(entry: Raw, itemPath: string, problems: Problems): readonly string[] | undefined {
  return stringList(entry, 'issuers', itemPath, problems, { minItems: 1 });
}

export function checkKeyUrl(url: string, path: string, problems: Problems, keys: KeysConfig): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    problems.add(path, `"${url}" is not a valid URL`);
    return;
  }
  if (parsed.protocol === 'https:') return;
  if (parsed.protocol !== 'http:') {
    problems.add(path, `must be an https:// URL, got ${parsed.protocol}`);
    return;
  }
  if (!isLoopbackHost(parsed.hostname) && !keys.allowInsecureHttp) {
    problems.add(
      path,
      'must be https:// (plain http is allowed for loopback hosts, or anywhere with keys.allowInsecureHttp: true)',
    );
  }
}

export function readStaticKeys(o: Raw, path: string, problems: Problems): StaticKeyConfig[] {
  return readKeyEntries<StaticKeyConfig>(o, 'issuerSigningKeys', path, problems, {
    members: ['jwk', 'pem', 'n', 'e', 'base64', 'id', 'issuers'],
    jwkMembers: JWK_MEMBERS,
    hint: 'must give one of jwk, pem, n + e, or base64',
  });
}

export function readDecryptionKeys(o: Raw, path: string, problems: Problems): DecryptionKeyConfig[] {
  return readKeyEntries<DecryptionKeyConfig>(o, 'decryptionKeys', path, problems, {
    members: ['jwk', 'pem', 'base64', 'id'],
    jwkMembers: [...JWK_MEMBERS, 'd', 'p', 'q', 'dp', 'dq', 'qi'],
    hint: 'must give one of jwk (private), pem (private key), or base64 (symmetric)',
  });
}

/** A list of keys in the config's key forms. Only their shape is read here: importing them is the compile step's. */
function readKeyEntries<K extends StaticKeyConfig | DecryptionKeyConfig>(
  o: Raw,
  listKey: string,
  path: string,
  problems: Problems,
  forms: { members: string[]; jwkMembers: string[]; hint: string },
): K[] {
  return mappingList(o, listKey, path, problems, forms.members, (entry, itemPath) => {
    const id = optionalString(entry, 'id', itemPath, problems);
    let key: StaticKeyConfig | undefined;
    if (entry.jwk !== undefined) {
      const jwk = mapping(entry.jwk, join(itemPath, 'jwk'), problems, forms.jwkMembers);
      if (jwk) key = { form: 'jwk', jwk: id !== undefined && jwk.kid === undefined ? { ...jwk, kid: id } : jwk };
    } else if (entry.pem !== undefined) {
      const pem = requiredString(entry, 'pem', itemPath, problems);
      if (pem) key = { form: 'pem', pem, id };
    } else if (forms.members.includes('n') && (entry.n !== undefined || entry.e !== undefined)) {
      const n = requiredString(entry, 'n', itemPath, problems);
      const e = requiredString(entry, 'e', itemPath, problems);
      if (n && e) key = { form: 'rsa', n, e, id };
    } else if (entry.base64 !== undefined) {
      const base64 = requiredString(entry, 'base64', itemPath, problems);
      if (base64) key = { form: 'symmetric', base64, id };
    } else {
      problems.add(itemPath, forms.hint);
    }
    if (!key) return undefined;
    if (forms.members.includes('issuers')) {
      const issuers = readSignsFor(entry, itemPath, problems);
      if (issuers !== undefined) key = { ...key, issuers };
    }
    return key as K;
  });
}

export const JWK_MEMBERS = [
  'kty',
  'kid',
  'alg',
  'use',
  'key_ops',
  'n',
  'e',
  'crv',
  'x',
  'y',
  'k',
  'x5c',
  'x5t',
  'x5t#S256',
];

/**
 * RFC 8725 §3.8, OpenID Connect Core §10.1: a key may verify only tokens of the issuer it belongs to. With one key
 * source that is every issuer the policy accepts; with several, each source must be bound: a discovery document to
 * the issuer it names (or its `issuers`), a JWKS URL or a static key only by its own `issuers`, since nothing else
 * says whose keys they are.
 */
export function checkIssuerBindings(
  path: string,
  problems: Problems,
  sources: {
    openidConfig: readonly OpenIdConfigEntry[];
    jwksUri: readonly JwksUriEntry[];
    staticKeys: readonly StaticKeyConfig[];
  },
): void {
  const unboundStatic = sources.staticKeys.some((k) => k.issuers === undefined);
  const boundStatic = sources.staticKeys.filter((k) => k.issuers !== undefined).length;
  const count = sources.openidConfig.length + sources.jwksUri.length + boundStatic + (unboundStatic ? 1 : 0);
  if (count <= 1) return;
  sources.jwksUri.forEach((entry, i) => {
    if (entry.issuers !== undefined) return;
    problems.add(
      join(join(path, 'jwksUri'), i),
      'the policy has several key sources, so say which issuers this JWKS signs for: ' +
        `write { url: "${entry.url}", issuers: ["https://issuer.example.com/"] } (RFC 8725 §3.8)`,
    );
  });
  sources.staticKeys.forEach((key, i) => {
    if (key.issuers !== undefined) return;
    problems.add(
      join(join(path, 'issuerSigningKeys'), i),
      'the policy has several key sources, so say which issuers this key signs for: ' +
        'add issuers: ["https://issuer.example.com/"]' +
        ' to the key (RFC 8725 §3.8)',
    );
  });
}
