/**
 * Issue 17 §2: a corpus of APIM policies in the shapes people publish (test/fixtures/apim/corpus, each written for
 * this test and saying which shape it stands for), imported as `tokengate import-apim` does. An import that exits 0
 * then runs end to end: its YAML, with the identity providers' hosts pointed at a test issuer serving their documents
 * in the same shapes, starts a real tokengate, and the tokens APIM's policy would allow are allowed and the rest
 * denied. An import that is refused says why, at its line. No document may exit 0 with YAML that cannot work.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, importApimPolicy, type ImportResult } from '../../src/apim/import_apim.js';
import { bearer, envoyCheckRequest, reasonOf } from '../helpers/check_client.js';
import { startShapedIssuer, type ShapedIssuer } from '../helpers/shaped_issuer.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';
import { CERTIFICATE_BUNDLE, CORPUS, type CorpusCase } from './corpus_cases.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'apim', 'corpus');

let idp: ShapedIssuer;
const running: RunningTokengate[] = [];

beforeAll(async () => {
  idp = await startShapedIssuer();
});

afterAll(async () => {
  for (const tg of running) await tg.stop();
  await idp?.close();
});

function importCase(c: CorpusCase, allowPartial: boolean): ImportResult {
  return importApimPolicy(readFileSync(join(DIR, c.file), 'utf8'), {
    source: c.file,
    name: 'api',
    allowPartial,
    namedValues: new Map(Object.entries(c.namedValues ?? {})),
    certificates: new Map(
      (c.certificates ?? []).map((id) => [id, { file: 'jwt-signer.bundle.pem', pem: CERTIFICATE_BUNDLE }]),
    ),
  });
}

/** The YAML with each identity provider's origin replaced by a path on the test issuer (`O/c05/login`). */
function pointAtTestIssuer(c: CorpusCase, yaml: string): string {
  let text = c.edit ? c.edit(yaml, (sub) => base(c, sub)) : yaml;
  for (const [origin, sub] of Object.entries(c.hosts ?? {})) text = text.replaceAll(origin, base(c, sub));
  return text;
}

function base(c: CorpusCase, sub: string): string {
  if (sub === '/') return idp.origin;
  return `${idp.origin}/${c.file.slice(0, 3)}${sub ? `/${sub}` : ''}`;
}

async function decide(tg: RunningTokengate, request: { method?: string; path?: string; token?: string }) {
  const res = await tg.client.check(
    envoyCheckRequest({
      method: request.method,
      path: request.path,
      headers: request.token ? bearer(request.token) : {},
    }),
  );
  return { code: res.status.code, reason: reasonOf(res) };
}

for (const c of CORPUS) {
  describe(`${c.file}: ${c.summary}`, () => {
    const result = () => importCase(c, false);

    it(`imports with exit ${c.exit}${c.exit === 0 ? '' : ', each refusal at its line'}`, () => {
      const r = result();
      const lines = r.diagnostics.map((d) => formatDiagnostic(d, c.file));
      expect(lines).toEqual(c.stderr.map((re) => expect.stringMatching(re)));
      expect(r.exitCode).toBe(c.exit);
      expect(r.yaml === undefined).toBe(c.exit !== 0);
    });

    if (c.requests) {
      const partial = c.exit !== 0;
      it(`${partial ? 'with --allow-partial, ' : ''}runs end to end: ${c.requests.map((q) => `${q.label} ${q.expect === 'allow' ? 'allowed' : 'denied'}`).join('; ')}`, async () => {
        const r = importCase(c, partial);
        expect(r.exitCode).toBe(0);
        await c.setup?.(idp, (sub) => base(c, sub));
        const tg = await startTokengate(pointAtTestIssuer(c, r.yaml!));
        running.push(tg);
        for (const q of c.requests!) {
          const token = q.token ? await q.token(idp, (sub) => base(c, sub)) : undefined;
          const got = await decide(tg, { method: q.method, path: q.path, token });
          if (q.expect === 'allow') expect(got, q.label).toEqual({ code: 0, reason: undefined });
          else {
            expect(got.code, `${q.label}: allowed`).not.toBe(0);
            if (q.expect !== 'deny') expect(got.reason, q.label).toBe(q.expect);
          }
        }
      });
    }
  });
}
