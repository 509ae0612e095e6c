// decodeJws and isCompactJws on their own: RFC 7515 §7.1 (compact serialization: three base64url segments),
// RFC 7515 §2 and RFC 4648 §5 (unpadded base64url), RFC 7515 §4.1.1 (alg), §4.1.11 (crit), RFC 7797 §6 (b64 in a
// JWT), RFC 7515 §4 / RFC 7519 §4 (duplicate member names), RFC 8259 §8.1 (UTF-8). Every denial is JwtInvalid;
// the message names the rule, so each case asserts both.
import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, MAX_TOKEN_LENGTH, decodeJws, isCompactJws } from '../../src/jwt/decode_jws.js';
import { AuthzError } from '../../src/errors.js';

const b64u = (data: string | Buffer) => Buffer.from(data).toString('base64url');
const HEADER = '{"alg":"RS256","kid":"k1"}';
const PAYLOAD = '{"sub":"alice","aud":"api://orders"}';
const SIGNATURE = b64u(Buffer.alloc(32, 0xab)); // 43 characters: the last carries 4 data bits and 2 spare ones

/** A compact JWS from header and payload JSON text (given as text, so duplicates and escapes survive). */
function jws(header = HEADER, payload = PAYLOAD, signature = SIGNATURE): string {
  return `${b64u(header)}.${b64u(payload)}.${signature}`;
}

/** 'ok', or "reason: message". */
function outcome(token: string): string {
  try {
    decodeJws(token);
    return 'ok';
  } catch (err) {
    if (err instanceof AuthzError) return `${err.reason}: ${err.message}`;
    throw err;
  }
}

/** The denial's message, after checking that it is JwtInvalid with no claim named. */
function invalid(token: string): string {
  try {
    decodeJws(token);
  } catch (err) {
    expect(err).toBeInstanceOf(AuthzError);
    expect((err as AuthzError).reason).toBe('JwtInvalid');
    expect((err as AuthzError).claim).toBeUndefined();
    return (err as AuthzError).message;
  }
  throw new Error(`decodeJws accepted ${token.slice(0, 80)}`);
}

describe('a well-formed token', () => {
  it('is split into header, payload, signing input, signature, alg and kid', () => {
    const token = jws();
    const decoded = decodeJws(token);
    expect(decoded.header).toEqual({ alg: 'RS256', kid: 'k1' });
    expect(decoded.payload).toEqual({ sub: 'alice', aud: 'api://orders' });
    expect(decoded.payloadSegment).toBe(b64u(PAYLOAD));
    expect(decoded.signingInput.toString('latin1')).toBe(token.slice(0, token.lastIndexOf('.')));
    expect(decoded.signature).toEqual(Buffer.alloc(32, 0xab));
    expect(decoded.alg).toBe('RS256');
    expect(decoded.kid).toBe('k1');
  });

  it('may have an empty signature (alg none is refused later, by the algorithm list)', () => {
    const decoded = decodeJws(jws('{"alg":"none"}', PAYLOAD, ''));
    expect(decoded.alg).toBe('none');
    expect(decoded.signature.length).toBe(0);
  });

  it('has no kid when the header has none', () => {
    expect(decodeJws(jws('{"alg":"HS256"}')).kid).toBeUndefined();
  });
});

describe('isCompactJws: three base64url segments, the last possibly empty (RFC 7515 §7.1)', () => {
  it('accepts the compact shape', () => {
    expect(isCompactJws(jws())).toBe(true);
    expect(isCompactJws('a.b.')).toBe(true);
    expect(isCompactJws('aZ09-_.aZ09-_.aZ09-_')).toBe(true);
  });

  it('refuses other part counts, empty header or payload, padding, non-alphabet characters and white space', () => {
    for (const text of [
      '',
      'a',
      'a.b',
      'a.b.c.d',
      'a.b.c.d.e',
      '.b.c',
      'a..c',
      '..',
      'a=.b.c',
      'a.b=.c',
      'a.b.c=',
      'a+.b.c',
      'a.b/.c',
      'a.b.c+',
      'a .b.c',
      'a.b.c\n',
      '\na.b.c',
      'a.b.c ',
      'a.b.c\u00e9',
      'a.b.c\0',
    ]) {
      expect(isCompactJws(text), JSON.stringify(text)).toBe(false);
    }
  });
});

describe('shape: segments and base64url (RFC 7515 §7.1, RFC 4648 §5)', () => {
  it('five parts are named as an encrypted token (JWE)', () => {
    expect(invalid('a.b.c.d.e')).toMatch(/encrypted \(JWE\)/);
  });

  it('any other part count is named with its count', () => {
    expect(invalid('abc')).toMatch(/has 1 parts; a JWS has 3/);
    expect(invalid('a.b')).toMatch(/has 2 parts/);
    expect(invalid('a.b.c.d')).toMatch(/has 4 parts/);
    expect(invalid('a.b.c.d.e.f')).toMatch(/has 6 parts/);
  });

  it('padding, "+", "/", spaces or an empty segment in header or payload is not base64url', () => {
    const [h, p] = [b64u(HEADER), b64u(PAYLOAD)];
    for (const token of [
      `${h}=.${p}.${SIGNATURE}`,
      `${h}.${p}==.${SIGNATURE}`,
      `${h}+.${p}.${SIGNATURE}`,
      `${h}.${p}/.${SIGNATURE}`,
      ` ${h}.${p}.${SIGNATURE}`,
      `.${p}.${SIGNATURE}`,
      `${h}..${SIGNATURE}`,
    ]) {
      expect(invalid(token), token).toMatch(/header or payload is not base64url/);
    }
  });

  it('padding or non-alphabet characters in the signature are named as such', () => {
    for (const signature of [`${SIGNATURE}=`, 'ab+c', 'ab/c', 'ab c', 'abc\n']) {
      expect(invalid(jws(HEADER, PAYLOAD, signature)), signature).toMatch(/signature is not base64url/);
    }
  });

  it('a segment whose length leaves one dangling character is not canonical (Buffer would drop it)', () => {
    // 33 bytes are 44 characters; a 45th character carries 6 bits, less than a byte.
    const full = b64u(Buffer.alloc(33, 0xab));
    expect(Buffer.from(`${full}A`, 'base64url')).toEqual(Buffer.from(full, 'base64url'));
    expect(outcome(jws(HEADER, PAYLOAD, full))).toBe('ok');
    expect(invalid(jws(HEADER, PAYLOAD, `${full}A`))).toMatch(/not canonical base64url/);
    const payload = b64u(PAYLOAD); // 36 bytes, 48 characters
    expect(invalid(`${b64u(HEADER)}.${payload}A.${SIGNATURE}`)).toMatch(/not canonical base64url/);
    const header = b64u('{"alg":"RS256","kid":"k12"}'); // 27 bytes, 36 characters
    expect(invalid(`${header}A.${payload}.${SIGNATURE}`)).toMatch(/not canonical base64url/);
  });

  it('a last character with spare bits set is not canonical: one signature, one accepted string', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    /** The segment with its last character's spare bits set: Buffer decodes it to the same bytes. */
    const withSpareBits = (segment: string, spare: number) => {
      const value = alphabet.indexOf(segment.at(-1)!);
      expect(value & spare).toBe(0);
      const tampered = segment.slice(0, -1) + alphabet[value | spare];
      expect(Buffer.from(tampered, 'base64url')).toEqual(Buffer.from(segment, 'base64url'));
      return tampered;
    };
    // Length 4k+3: the last character holds 4 data bits and 2 spare ones; length 4k+2: 2 data bits, 4 spare.
    expect(SIGNATURE.length % 4).toBe(3);
    expect(invalid(jws(HEADER, PAYLOAD, withSpareBits(SIGNATURE, 0x01)))).toMatch(/not canonical base64url/);
    expect(invalid(jws(HEADER, PAYLOAD, withSpareBits(SIGNATURE, 0x02)))).toMatch(/not canonical base64url/);
    const oneByte = b64u(Buffer.from([0xf0]));
    expect(oneByte.length).toBe(2);
    expect(decodeJws(jws(HEADER, PAYLOAD, oneByte)).signature).toEqual(Buffer.from([0xf0]));
    expect(invalid(jws(HEADER, PAYLOAD, withSpareBits(oneByte, 0x08)))).toMatch(/not canonical base64url/);
    const header = b64u(HEADER); // 26 bytes, 35 characters
    expect(invalid(`${withSpareBits(header, 0x01)}.${b64u(PAYLOAD)}.${SIGNATURE}`)).toMatch(/not canonical base64url/);
  });
});

describe('length (MAX_TOKEN_LENGTH)', () => {
  /** A valid token of exactly `length` characters: filler in the payload, the signature's size for the last step. */
  function tokenOfLength(length: number): string {
    for (let bytes = 30; bytes < 34; bytes++) {
      const signature = b64u(Buffer.alloc(bytes, 1));
      const bare = jws(HEADER, '{"x":""}', signature).length;
      for (let filler = Math.max(0, Math.floor(((length - bare) * 3) / 4) - 3); ; filler++) {
        const token = jws(HEADER, `{"x":"${'a'.repeat(filler)}"}`, signature);
        if (token.length === length) return token;
        if (token.length > length) break;
      }
    }
    throw new Error(`no token of length ${length}`);
  }

  it('a token of exactly MAX_TOKEN_LENGTH characters is read; one character more is refused before parsing', () => {
    expect(outcome(tokenOfLength(MAX_TOKEN_LENGTH))).toBe('ok');
    expect(invalid(tokenOfLength(MAX_TOKEN_LENGTH + 1))).toMatch(
      new RegExp(`longer than ${MAX_TOKEN_LENGTH} characters`),
    );
    expect(invalid('.'.repeat(MAX_TOKEN_LENGTH + 1))).toMatch(/longer than/);
  });
});

describe('header and payload: UTF-8 JSON objects (RFC 7515 §7.2.1 step 3, RFC 8259 §8.1)', () => {
  it('invalid UTF-8 is refused, not replaced with U+FFFD', () => {
    const badUtf8 = Buffer.concat([Buffer.from('{"sub":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    expect(invalid(`${b64u(HEADER)}.${b64u(badUtf8)}.${SIGNATURE}`)).toMatch(/payload is not UTF-8 JSON/);
    const lone = Buffer.concat([
      Buffer.from('{"alg":"RS256","x":"'),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from('"}'),
    ]);
    expect(invalid(`${b64u(lone)}.${b64u(PAYLOAD)}.${SIGNATURE}`)).toMatch(/header is not UTF-8 JSON/);
  });

  it('text that is not JSON is refused', () => {
    for (const text of ['{', '{"alg":"RS256",}', "{'alg':'RS256'}", 'alg=RS256', '{"a":"\u0001"}']) {
      expect(invalid(jws(text)), text).toMatch(/header is not UTF-8 JSON/);
      expect(invalid(jws(HEADER, text)), text).toMatch(/payload is not UTF-8 JSON/);
    }
  });

  it('JSON that is not an object is refused', () => {
    for (const text of ['[]', '[{"alg":"RS256"}]', 'null', '"RS256"', '5', 'true']) {
      expect(invalid(jws(text)), text).toMatch(/header is not a JSON object/);
      expect(invalid(jws(HEADER, text)), text).toMatch(/payload is not a JSON object/);
    }
  });

  it('duplicate member names are refused, at any depth (stricter than JSON.parse, which keeps the last)', () => {
    expect(invalid(jws('{"alg":"none","alg":"RS256"}'))).toMatch(/header has duplicate member names/);
    expect(invalid(jws(HEADER, '{"aud":"a","sub":"x","aud":"b"}'))).toMatch(/payload has duplicate member names/);
    expect(invalid(jws(HEADER, '{"a":{"b":1,"b":2}}'))).toMatch(/payload has duplicate member names/);
    expect(invalid(jws(HEADER, '{"a":[{"b":1},{"c":1,"c":1}]}'))).toMatch(/payload has duplicate member names/);
    expect(invalid(jws(HEADER, '{"__proto__":1,"__proto__":2}'))).toMatch(/payload has duplicate member names/);
    // Written differently, the same name: "\u0061" is "a".
    expect(invalid(jws(HEADER, '{"a":1,"\\u0061":2}'))).toMatch(/payload has duplicate member names/);
  });

  it('colons and escaped quotes inside strings are not mistaken for members', () => {
    expect(decodeJws(jws(HEADER, '{"a":"x:y:z","b":"q\\":r"}')).payload).toEqual({ a: 'x:y:z', b: 'q":r' });
    // The string ends with an escaped backslash, so the quote after it closes it and the second "a" is a member.
    expect(invalid(jws(HEADER, '{"a":"\\\\","a":1}'))).toMatch(/duplicate member names/);
    expect(decodeJws(jws(HEADER, '{"a":"\\\\","b":1}')).payload).toEqual({ a: '\\', b: 1 });
    // A lone "__proto__" member is one own member (JSON.parse defines it; nothing is polluted), not a duplicate.
    const proto = decodeJws(jws(HEADER, '{"__proto__":{"admin":true}}')).payload;
    expect(Object.hasOwn(proto, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
  });

  it('an escaped NUL in any string is refused; an escaped backslash followed by "u0000" is not a NUL', () => {
    expect(invalid(jws(HEADER, '{"sub":"alice\\u0000admin"}'))).toMatch(/payload contains a NUL character/);
    expect(invalid(jws('{"alg":"RS256","kid":"\\u0000"}'))).toMatch(/header contains a NUL character/);
    expect(invalid(jws(HEADER, '{"\\u0000":1}'))).toMatch(/payload contains a NUL character/);
    expect(decodeJws(jws(HEADER, '{"sub":"\\\\u0000"}')).payload).toEqual({ sub: '\\u0000' });
  });

  it(`nesting up to ${MAX_JSON_DEPTH} levels is read; one level more is refused`, () => {
    /** An object holding arrays nested so that the whole is `depth` levels deep. */
    const nested = (depth: number, head = '"alg":"RS256",') =>
      `{${head}"a":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
    expect(outcome(jws(HEADER, nested(MAX_JSON_DEPTH, '')))).toBe('ok');
    expect(invalid(jws(HEADER, nested(MAX_JSON_DEPTH + 1, '')))).toMatch(/payload nests deeper than 32 levels/);
    expect(outcome(jws(nested(MAX_JSON_DEPTH)))).toBe('ok');
    expect(invalid(jws(nested(MAX_JSON_DEPTH + 1)))).toMatch(/header nests deeper than 32 levels/);
    const objects = (depth: number) => `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;
    expect(outcome(jws(HEADER, objects(MAX_JSON_DEPTH)))).toBe('ok');
    expect(invalid(jws(HEADER, objects(MAX_JSON_DEPTH + 1)))).toMatch(/nests deeper/);
    // Brackets inside strings are text, not nesting.
    expect(outcome(jws(HEADER, `{"a":"${'['.repeat(100)}"}`))).toBe('ok');
  });
});

describe('alg and kid (RFC 7515 §4.1.1, §4.1.4)', () => {
  it('a header without a non-empty string alg is refused', () => {
    for (const header of [
      '{}',
      '{"kid":"k1"}',
      '{"alg":""}',
      '{"alg":null}',
      '{"alg":5}',
      '{"alg":["RS256"]}',
      '{"alg":{}}',
    ]) {
      expect(invalid(jws(header)), header).toMatch(/header has no "alg"/);
    }
  });

  it('alg in the payload does not count', () => {
    expect(invalid(jws('{"typ":"JWT"}', '{"alg":"RS256"}'))).toMatch(/no "alg"/);
  });

  it('kid, when present, is a string of 1 to 256 characters', () => {
    expect(decodeJws(jws(`{"alg":"RS256","kid":"${'k'.repeat(256)}"}`)).kid).toHaveLength(256);
    for (const kid of ['""', `"${'k'.repeat(257)}"`, '5', 'null', '["k1"]', '{}']) {
      expect(invalid(jws(`{"alg":"RS256","kid":${kid}}`)), kid).toMatch(/"kid" must be a non-empty string/);
    }
  });
});

describe('crit (RFC 7515 §4.1.11) and b64 (RFC 7797 §6)', () => {
  const header = (members: string) => `{"alg":"RS256",${members}}`;

  it('a crit that is not a non-empty list of names present in the header is malformed', () => {
    for (const members of [
      '"crit":"b64","b64":true',
      '"crit":[]',
      '"crit":null',
      '"crit":[5]',
      '"crit":["b64"]',
      '"crit":["exp"]',
      '"crit":{"b64":true},"b64":true',
    ]) {
      expect(invalid(jws(header(members))), members).toMatch(/"crit" is malformed/);
    }
  });

  it("a name listed twice is refused (stricter than jose's verifier)", () => {
    expect(invalid(jws(header('"crit":["b64","b64"],"b64":true')))).toMatch(/"crit" lists a name twice/);
  });

  it('any extension other than b64 is unsupported, so the token is refused', () => {
    expect(invalid(jws(header('"crit":["exp"],"exp":1')))).toMatch(/unsupported extension "exp"/);
    expect(invalid(jws(header('"crit":["b64","http://example.com/x"],"b64":true,"http://example.com/x":1')))).toMatch(
      /unsupported extension "http:\/\/example.com\/x"/,
    );
  });

  it('b64: false (an unencoded payload) is never allowed in a JWT; only b64: true passes', () => {
    expect(invalid(jws(header('"crit":["b64"],"b64":false')))).toMatch(/b64: false/);
    expect(invalid(jws(header('"crit":["b64"],"b64":"true"')))).toMatch(/b64: false/);
    expect(outcome(jws(header('"crit":["b64"],"b64":true')))).toBe('ok');
  });
});

describe('bad input never crashes', () => {
  it('every one-character change of a valid token decodes or is JwtInvalid', () => {
    const token = jws();
    const replacements = ['A', '_', '-', '.', '=', '+', '/', ' ', '\0', '\u00e9', '\ud800', ''];
    for (let i = 0; i < token.length; i++) {
      for (const r of replacements) {
        const result = outcome(token.slice(0, i) + r + token.slice(i + 1));
        expect(result === 'ok' || result.startsWith('JwtInvalid: '), `${i} ${JSON.stringify(r)}: ${result}`).toBe(true);
      }
    }
  });
});
