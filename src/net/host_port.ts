/** `127.0.0.1:9090` → host and port; `[::1]:9090` → `::1` and port. The config reader checked the address. */
export function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(address.slice(colon + 1)) };
}
