// Where the bench keeps what its builders write (their state roots, buildah's storage, the copies
// of contexts), and when it removes it. Removing a few hundred MB of small files slows the file
// creation that follows on this machine's root file system (ext4 on a virtual disk, mounted with
// `discard`): 2,000 creates took 0.9-1.2 s right after the 2,000 files before them were removed,
// against 50-70 ms in a directory where nothing had been removed; a cold build's links took
// 1.3 s instead of 0.2 s. So the edit loop and buildah's resets remove what the timed rounds
// wrote when the loop or buildah stops, not between rounds: BuildKit's shared engine removes
// nothing between rounds either. (The build scenarios still remove each run's directory after it.)
// The directory is the system's temporary one unless BENCH_DIR names another.
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The bench's own directory, made if missing. */
export function benchDir() {
  const dir = process.env.BENCH_DIR ?? os.tmpdir();
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A new directory in the bench's own directory (as `mkdtempSync` in the system's). */
export function benchTemp(prefix) {
  return mkdtempSync(path.join(benchDir(), prefix));
}
