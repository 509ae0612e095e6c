// What the bench ran on: the machine and the versions of everything measured.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, GOBIN, ROOT } from './config.mjs';
import { loadavg } from './proc_stats.mjs';

/** A command's output, or what it said when it failed (never throws). */
export function sh(argv) {
  try {
    return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    return `${(err.stdout ?? '').trim()}${(err.stderr ?? '').trim()}` || `(${argv[0]} unavailable)`;
  }
}

function pkgVersion(name) {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

export function machineInfo() {
  return {
    lscpu: sh(['lscpu']),
    nproc: sh(['nproc']),
    free: sh(['free', '-m']),
    uname: sh(['uname', '-srm']),
    loadavgStart: loadavg(),
  };
}

export function versions() {
  const goVersionM = (bin, mod) => {
    const out = sh(['go', 'version', '-m', bin]);
    const line = out.split('\n').find((l) => l.trim().startsWith('mod\t') || l.trim().startsWith('mod '));
    return line ? line.trim().split(/\s+/).slice(1, 3).join('@') : mod;
  };
  const marker = (name) => {
    try {
      return readFileSync(join(GOBIN, `.${name}.version`), 'utf8').trim();
    } catch {
      return null;
    }
  };
  const opaVersion = sh([BIN.opa, 'version'])
    .split('\n')
    .find((l) => l.startsWith('Version'));
  return {
    node: process.version,
    openssl: process.versions.openssl,
    v8: process.versions.v8,
    tokengate: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
    '@grpc/grpc-js': pkgVersion('@grpc/grpc-js'),
    '@grpc/proto-loader': pkgVersion('@grpc/proto-loader'),
    jose: pkgVersion('jose'),
    pino: pkgVersion('pino'),
    ghz: marker('ghz') ?? goVersionM(BIN.ghz, 'github.com/bojand/ghz'),
    'opa-envoy-plugin':
      marker('opa-envoy-plugin') ?? goVersionM(BIN.opa, 'github.com/open-policy-agent/opa-envoy-plugin'),
    opa: opaVersion?.replace('Version: ', '') ?? null,
    envoy: existsSync(BIN.envoy) ? (sh([BIN.envoy, '--version']).split('version: ')[1]?.trim() ?? null) : null,
    go: sh(['go', 'version']),
  };
}
