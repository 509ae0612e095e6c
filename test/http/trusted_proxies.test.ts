import { describe, expect, it } from 'vitest';
import { parseTrustedProxy } from '../../src/config/validate_http_authz.js';
import type { TrustedProxy } from '../../src/config/types.js';
import { trustedPeers } from '../../src/http/trusted_proxies.js';

function proxies(...entries: string[]): TrustedProxy[] {
  return entries.map((e) => {
    const p = parseTrustedProxy(e);
    if (typeof p === 'string') throw new Error(p);
    return p;
  });
}

describe('trustedProxies', () => {
  it('parses unix, single addresses and CIDR blocks; anything else is a problem', () => {
    expect(parseTrustedProxy('unix')).toEqual({ kind: 'unix' });
    expect(parseTrustedProxy('10.1.2.3')).toEqual({ kind: 'cidr', network: '10.1.2.3', prefix: 32, family: 'ipv4' });
    expect(parseTrustedProxy('fd00::/8')).toEqual({ kind: 'cidr', network: 'fd00::', prefix: 8, family: 'ipv6' });
    expect(parseTrustedProxy('10.0.0.0/33')).toMatch(/prefix length/);
    expect(parseTrustedProxy('10.0.0.0/')).toMatch(/prefix length/);
    expect(parseTrustedProxy('10.0.0.0/+8')).toMatch(/prefix length/);
    expect(parseTrustedProxy('localhost')).toMatch(/must be "unix"/);
    expect(parseTrustedProxy('10.0.0/8')).toMatch(/must be "unix"/);
  });

  it('on TCP: peers inside a block are trusted, others are not', () => {
    const trusts = trustedPeers(proxies('10.0.0.0/8', '192.168.1.5', 'fd00::/8'), false);
    expect(trusts('10.200.3.4')).toBe(true);
    expect(trusts('11.0.0.1')).toBe(false);
    expect(trusts('192.168.1.5')).toBe(true);
    expect(trusts('192.168.1.6')).toBe(false);
    expect(trusts('fd12::1')).toBe(true);
    expect(trusts('fe80::1')).toBe(false);
  });

  it('an IPv4 peer on a dual-stack listener (::ffff:a.b.c.d) is judged by its IPv4 address', () => {
    const trusts = trustedPeers(proxies('127.0.0.1'), false);
    expect(trusts('::ffff:127.0.0.1')).toBe(true);
    expect(trusts('::ffff:127.0.0.2')).toBe(false);
  });

  it('a block written with host bits covers the whole block', () => {
    expect(trustedPeers(proxies('10.1.2.3/8'), false)('10.9.9.9')).toBe(true);
  });

  it('on TCP, `unix` trusts nobody, and a socket without an address is never trusted', () => {
    const trusts = trustedPeers(proxies('unix', '0.0.0.0/0'), false);
    expect(trusts(undefined)).toBe(false);
    expect(trustedPeers(proxies('unix'), false)('127.0.0.1')).toBe(false);
  });

  it('on a Unix socket, peers are trusted exactly when the list says unix', () => {
    expect(trustedPeers(proxies('unix'), true)(undefined)).toBe(true);
    expect(trustedPeers(proxies('127.0.0.1/32'), true)(undefined)).toBe(false);
  });

  it('an empty list trusts nobody', () => {
    expect(trustedPeers([], false)('127.0.0.1')).toBe(false);
  });
});
