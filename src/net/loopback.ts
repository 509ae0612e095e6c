/** Hosts that never leave the machine, where plain http cannot be read or changed by anyone on the network. */
const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/i;

/** `hostname` as URL gives it: IPv6 in brackets. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOST.test(hostname);
}
