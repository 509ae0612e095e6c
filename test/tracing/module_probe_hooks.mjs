// Module hooks of module_probe.mjs (they run on Node's loader thread): each resolved URL, one per line.
import { appendFileSync } from 'node:fs';

let urls;

export function initialize(data) {
  urls = data.urls;
}

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(urls, `${resolved.url}\n`);
  return resolved;
}
