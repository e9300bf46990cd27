// Where the bench keeps what its builders write: their state roots, buildah's storage, the copies
// of contexts. Not the system's temporary directory: on the machine the bench was written on, /tmp
// had seen the test suite create and remove many thousands of directories, and creating a file
// there took 430-560 µs (median of 2,000) against 30-55 µs in /var/tmp or /work, on the same file
// system. BuildKit's engine keeps its state in /var/lib/tsbuild-peers (bench/peers.mjs), so each
// builder's writes go to a directory of the same kind. BENCH_DIR puts it elsewhere.
//
// Removing a few hundred MB of small files also slows the file creation right after it (ext4
// mounted with `discard` here): 2,000 creates took up to 1.3 s in the seconds after a round's
// state root was removed. So a scenario removes what its rounds wrote when it ends (`removeLater`,
// `removeAll`), not between the rounds it times: BuildKit's shared engine removes nothing between
// rounds either.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';

/** The bench's own directory, made if missing. */
export function benchDir() {
  const dir = process.env.BENCH_DIR ?? '/var/lib/tsbuild-bench';
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A new directory in the bench's own directory (as `mkdtempSync` in the system's). */
export function benchTemp(prefix) {
  return mkdtempSync(path.join(benchDir(), prefix));
}

const later = [];

/** Removes `dir` when the scenario ends (`removeAll`), with `before` run first (an unmount). */
export function removeLater(dir, before = () => {}) {
  later.push({ dir, before });
}

/** Removes what `removeLater` was given. */
export function removeAll() {
  for (const { dir, before } of later.splice(0)) {
    before();
    rmSync(dir, { recursive: true, force: true });
  }
}
