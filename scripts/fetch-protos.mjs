#!/usr/bin/env node
// Puts the Envoy ext_authz proto closure under proto/ at install time.
//
// The .proto files are third-party (Envoy data-plane-api, cncf/xds, googleapis, protoc-gen-validate, all
// Apache-2.0) and are not committed: they come from one pinned npm tarball, @grpc/grpc-js-xds, whose deps/
// folder carries all four trees. The tarball's registry integrity is pinned, line endings are normalised
// (the tarball ships CRLF) and every file must match the SHA-256 in proto/MANIFEST.sha256.
//
//   node scripts/fetch-protos.mjs            fetch if missing or different, then verify (run by npm on install)
//   node scripts/fetch-protos.mjs --verify   verify only, exit 1 on any difference
//   node scripts/fetch-protos.mjs --write-manifest   rewrite the manifest from the fetched files (maintainers)
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE = '@grpc/grpc-js-xds@1.14.1';
const PACKAGE_INTEGRITY =
  'sha512-F2mVXwEeMWw1znPUrp+8ykjsIOVnf7Rv+EyIvXOfz73w5tNolCnzokpLkE/d2Ehx30PJmZXqCQdMpx8DcBJohA==';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const protoDir = join(root, 'proto');
const manifestPath = join(protoDir, 'MANIFEST.sha256');

export function listedFiles() {
  return readFileSync(join(protoDir, 'FILES'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [tree, path] = line.split(/\s+/);
      return { tree, path };
    });
}

function sha256(data) {
  return createHash('sha256').update(data).digest('hex');
}

function readManifest() {
  const hashes = new Map();
  for (const line of readFileSync(manifestPath, 'utf8').split('\n')) {
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line.trim());
    if (m) hashes.set(m[2], m[1]);
  }
  return hashes;
}

/** Returns the list of problems; empty means proto/ holds exactly the pinned files. */
export function verify() {
  const hashes = readManifest();
  const problems = [];
  for (const { path } of listedFiles()) {
    const file = join(protoDir, path);
    if (!hashes.has(path)) problems.push(`${path}: not in MANIFEST.sha256`);
    else if (!existsSync(file)) problems.push(`${path}: missing`);
    else if (sha256(readFileSync(file)) !== hashes.get(path)) problems.push(`${path}: SHA-256 differs from MANIFEST.sha256`);
  }
  return problems;
}

function fetchFromTarball() {
  const work = mkdtempSync(join(tmpdir(), 'tokengate-protos-'));
  try {
    const out = execFileSync('npm', ['pack', PACKAGE, '--json', '--pack-destination', work], {
      cwd: work,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [info] = JSON.parse(out);
    if (info.integrity !== PACKAGE_INTEGRITY) {
      throw new Error(`${PACKAGE}: registry integrity ${info.integrity} is not the pinned ${PACKAGE_INTEGRITY}`);
    }
    const tgz = join(work, info.filename);
    const members = listedFiles().map(({ tree, path }) => `package/deps/${tree}/${path}`);
    execFileSync('tar', ['-xzf', tgz, '-C', work, ...members], { stdio: 'inherit' });
    for (const { tree, path } of listedFiles()) {
      const text = readFileSync(join(work, 'package/deps', tree, path), 'utf8').replace(/\r\n/g, '\n');
      mkdirSync(dirname(join(protoDir, path)), { recursive: true });
      writeFileSync(join(protoDir, path), text);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function writeManifest() {
  const lines = listedFiles().map(({ path }) => `${sha256(readFileSync(join(protoDir, path)))}  ${path}`);
  writeFileSync(manifestPath, `${lines.join('\n')}\n`);
}

function main(args) {
  if (args.includes('--write-manifest')) {
    fetchFromTarball();
    writeManifest();
    console.log(`proto: wrote MANIFEST.sha256 for ${listedFiles().length} files from ${PACKAGE}`);
    return 0;
  }
  let problems = verify();
  if (problems.length > 0 && !args.includes('--verify')) {
    fetchFromTarball();
    problems = verify();
  }
  if (problems.length > 0) {
    console.error(`proto: the Envoy protos do not match proto/MANIFEST.sha256:\n  ${problems.join('\n  ')}`);
    return 1;
  }
  console.log(`proto: ${listedFiles().length} files verified against MANIFEST.sha256 (${PACKAGE})`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = main(process.argv.slice(2));
}
