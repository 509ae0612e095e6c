// ConfigMap volumes, as the kubelet writes them (AtomicWriter):
//   dir/..2026_11_30_22_00_00.123456789/tokengate.yaml   the payload, in a timestamped directory
//   dir/..data -> ..2026_11_30_22_00_00.123456789        the one symlink that an update swaps
//   dir/tokengate.yaml -> ..data/tokengate.yaml          stable per-key symlinks
// An update writes a new timestamped directory, points a temporary symlink `..data_tmp` at it, renames that over
// `..data` (one atomic rename(2)), then removes the old directory.
import { mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

let payloadSeq = 0;

function payloadDir(dir: string, files: Record<string, string>): string {
  const t = new Date().toISOString().replace(/[-:T]/g, '_').replace(/\..*/, '');
  const name = `..${t}.${process.pid}${String(++payloadSeq).padStart(4, '0')}`;
  mkdirSync(join(dir, name));
  for (const [key, text] of Object.entries(files)) writeFileSync(join(dir, name, key), text);
  return name;
}

/** Lays out `files` in `dir` (created if missing) as a freshly mounted ConfigMap volume. */
export function writeConfigMapVolume(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  const payload = payloadDir(dir, files);
  symlinkSync(payload, join(dir, '..data'));
  for (const key of Object.keys(files)) symlinkSync(join('..data', key), join(dir, key));
}

/** The kubelet's atomic update of a volume written by writeConfigMapVolume. */
export function updateConfigMapVolume(dir: string, files: Record<string, string>): void {
  const old = readlinkSync(join(dir, '..data'));
  const payload = payloadDir(dir, files);
  symlinkSync(payload, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  rmSync(join(dir, old), { recursive: true, force: true });
}
