#!/usr/bin/env node
// Render envoy/envoy.yaml for tests and alternative deployments without keeping a second copy that can drift:
// substitute ports, or point the tokengate cluster at a Unix socket. Edits are structural (yaml Document API,
// elements found by name), so comments and layout of the shipped file survive.
//
//   node scripts/render-envoy-config.mjs [--listener-port N] [--listener-address IP] [--admin-port N]
//        [--tokengate-port N | --tokengate-socket PATH] [--upstream-port N] [--upstream-grpc-port N]
//        < envoy/envoy.yaml > out.yaml
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { isMap, isSeq, parseDocument } from 'yaml';

const LISTENER = 'ingress';
const CLUSTERS = { tokengatePort: 'tokengate', upstreamPort: 'upstream', upstreamGrpcPort: 'upstream_grpc' };

/**
 * @param {string} text envoy bootstrap YAML (normally envoy/envoy.yaml)
 * @param {{ listenerPort?: number, listenerAddress?: string, adminPort?: number, tokengatePort?: number, upstreamPort?: number,
 *           upstreamGrpcPort?: number, tokengateSocket?: string }} [opts] omitted options leave the value as is
 * @returns {string} the rendered YAML
 */
export function renderEnvoyConfig(text, opts = {}) {
  if (opts.tokengateSocket !== undefined && opts.tokengatePort !== undefined) {
    throw new Error('renderEnvoyConfig: give tokengatePort or tokengateSocket, not both');
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`renderEnvoyConfig: invalid YAML: ${doc.errors[0].message}`);

  if (opts.adminPort !== undefined) {
    setPort(doc, ['admin', 'address'], port(opts.adminPort, 'adminPort', true), 'admin');
  }
  if (opts.listenerPort !== undefined) {
    const i = indexByName(doc, ['static_resources', 'listeners'], LISTENER, 'listener');
    setPort(doc, ['static_resources', 'listeners', i, 'address'], port(opts.listenerPort, 'listenerPort', true), `listener ${LISTENER}`);
  }
  if (opts.listenerAddress !== undefined) {
    // The shipped listener binds 0.0.0.0 (a sidecar takes pod traffic); tests bind loopback only.
    if (typeof opts.listenerAddress !== 'string' || !isIP(opts.listenerAddress)) {
      throw new Error(`renderEnvoyConfig: listenerAddress must be an IP address, got ${String(opts.listenerAddress)}`);
    }
    const i = indexByName(doc, ['static_resources', 'listeners'], LISTENER, 'listener');
    const path = ['static_resources', 'listeners', i, 'address', 'socket_address'];
    if (!isMap(doc.getIn(path, true))) throw new Error(`renderEnvoyConfig: listener ${LISTENER} has no socket_address`);
    doc.setIn([...path, 'address'], opts.listenerAddress);
  }
  for (const [key, cluster] of Object.entries(CLUSTERS)) {
    if (opts[key] !== undefined) {
      const p = port(opts[key], key, false);
      for (const path of endpointAddressPaths(doc, cluster)) setPort(doc, path, p, `cluster ${cluster}`);
    }
  }
  if (opts.tokengateSocket !== undefined) {
    if (typeof opts.tokengateSocket !== 'string' || opts.tokengateSocket === '') {
      throw new Error('renderEnvoyConfig: tokengateSocket must be a non-empty path');
    }
    for (const path of endpointAddressPaths(doc, CLUSTERS.tokengatePort)) {
      // Address is a oneof: replace the whole node so socket_address cannot survive next to pipe.
      const address = doc.createNode({ pipe: { path: opts.tokengateSocket } });
      address.flow = true;
      doc.setIn(path, address);
    }
  }
  // Options chosen so that rendering without options reproduces envoy/envoy.yaml byte for byte.
  return doc.toString({ lineWidth: 0, indentSeq: false, flowCollectionPadding: true });
}

function port(value, name, allowZero) {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1) || value > 65535) {
    throw new Error(`renderEnvoyConfig: ${name} must be an integer port, got ${String(value)}`);
  }
  return value;
}

function indexByName(doc, seqPath, name, what) {
  const seq = doc.getIn(seqPath, true);
  if (!isSeq(seq)) throw new Error(`renderEnvoyConfig: ${seqPath.join('.')} is missing`);
  const i = seq.items.findIndex((item) => isMap(item) && item.get('name') === name);
  if (i < 0) throw new Error(`renderEnvoyConfig: no ${what} named "${name}" in ${seqPath.join('.')}`);
  return i;
}

/** Paths of every endpoint.address in the named cluster's load_assignment. */
function endpointAddressPaths(doc, cluster) {
  const c = indexByName(doc, ['static_resources', 'clusters'], cluster, 'cluster');
  const base = ['static_resources', 'clusters', c, 'load_assignment', 'endpoints'];
  const paths = [];
  const localities = doc.getIn(base, true);
  if (isSeq(localities)) {
    localities.items.forEach((_, li) => {
      const lbs = doc.getIn([...base, li, 'lb_endpoints'], true);
      if (!isSeq(lbs)) return;
      lbs.items.forEach((_, ei) => paths.push([...base, li, 'lb_endpoints', ei, 'endpoint', 'address']));
    });
  }
  if (paths.length === 0) throw new Error(`renderEnvoyConfig: cluster "${cluster}" has no endpoints`);
  return paths;
}

function setPort(doc, addressPath, value, what) {
  if (!isMap(doc.getIn([...addressPath, 'socket_address'], true))) {
    throw new Error(`renderEnvoyConfig: ${what} has no socket_address to set a port on`);
  }
  doc.setIn([...addressPath, 'socket_address', 'port_value'], value);
}

const FLAGS = {
  '--listener-port': 'listenerPort',
  '--listener-address': 'listenerAddress',
  '--admin-port': 'adminPort',
  '--tokengate-port': 'tokengatePort',
  '--upstream-port': 'upstreamPort',
  '--upstream-grpc-port': 'upstreamGrpcPort',
  '--tokengate-socket': 'tokengateSocket',
};

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i];
    let value;
    const eq = flag.indexOf('=');
    if (eq > 0) [flag, value] = [flag.slice(0, eq), flag.slice(eq + 1)];
    if (flag === '-h' || flag === '--help') return null;
    const key = FLAGS[flag];
    if (!key) throw new Error(`unknown argument: ${argv[i]}`);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new Error(`${flag} needs a value`);
    }
    if (key === 'tokengateSocket' || key === 'listenerAddress') opts[key] = value;
    else if (/^\d+$/.test(value)) opts[key] = Number(value);
    else throw new Error(`${flag}: not a port number: ${value}`);
  }
  return opts;
}

const USAGE = `usage: node scripts/render-envoy-config.mjs [--listener-port N] [--listener-address IP] [--admin-port N]
       [--tokengate-port N | --tokengate-socket PATH] [--upstream-port N] [--upstream-grpc-port N]
       < envoy/envoy.yaml > out.yaml
`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const opts = parseArgs(process.argv.slice(2));
    if (opts === null) {
      process.stdout.write(USAGE);
    } else {
      process.stdout.write(renderEnvoyConfig(readFileSync(0, 'utf8'), opts));
    }
  } catch (err) {
    process.stderr.write(`render-envoy-config: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    process.exitCode = 2;
  }
}
