import { BlockList, isIPv4 } from 'node:net';
import type { TrustedProxy } from '../config/types.js';

/** Whether a peer's forwarded headers may describe the request it asks about. */
export type TrustsPeer = (remoteAddress: string | undefined) => boolean;

/**
 * Compiles `server.httpAuthz.trustedProxies`. On a Unix socket there is no peer address: its peers are trusted when
 * the list says `unix` (file permissions decide who can connect). On TCP, the peer's address must fall in one of the
 * CIDR blocks; a socket that has no address any more (already closed) is trusted by nothing.
 */
export function trustedPeers(list: readonly TrustedProxy[], listenerIsUnix: boolean): TrustsPeer {
  if (listenerIsUnix) {
    const unix = list.some((p) => p.kind === 'unix');
    return () => unix;
  }
  const blocks = new BlockList();
  let any = false;
  for (const proxy of list) {
    if (proxy.kind !== 'cidr') continue;
    blocks.addSubnet(proxy.network, proxy.prefix, proxy.family);
    any = true;
  }
  if (!any) return () => false;
  return (remoteAddress) => {
    if (remoteAddress === undefined) return false;
    // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d (RFC 4291 §2.5.5.2): judge them as the IPv4
    // address they are, so `10.0.0.0/8` covers them.
    const mapped = remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : undefined;
    if (mapped !== undefined && isIPv4(mapped)) return blocks.check(mapped, 'ipv4');
    return blocks.check(remoteAddress, isIPv4(remoteAddress) ? 'ipv4' : 'ipv6');
  };
}
