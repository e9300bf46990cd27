// Where the bench keeps what its builders write (their state roots, buildah's storage, the copies
// of contexts), and when it removes it. This machine's root file system is an ext4 without a
// journal, which does not reuse an inode freed in the last minute (six while its inode table block
// is unwritten) and checks every such inode of a block group before each create there: after a
// few thousand removals, 2,000 creates in that group took 0.9-1.6 s instead of 50-70 ms. tsbuild's
// snapshot directories are spread over block groups (`src/util/spread-directory.ts`), and the bench
// spreads the peers' (`spreadDirectory`), but not its own directories, so the edit loop and buildah's resets remove what the timed
// rounds wrote when the loop or buildah stops, not between rounds: BuildKit's shared engine
// removes nothing between rounds either. (The build scenarios still remove each run's directory
// after it.) The directory is the system's temporary one unless BENCH_DIR names another.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
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

/**
 * Runs `sync`, then waits until the disks have been idle for half a second (their `/proc/diskstats`
 * time-doing-I/O counters did not move), at most 10 s: what the set-up wrote (a context copy, a
 * base build, a removed state root) is on disk before the clock starts. (It does not undo what
 * removing files does to the creates after it, which lasts longer than any I/O is in flight: see
 * the top of this file.) `BENCH_SETTLE=0` skips the wait, not the `sync`.
 */
export function settleDisk() {
  spawnSync('sync');
  if (process.env.BENCH_SETTLE === '0') return;
  const busy = () =>
    readFileSync('/proc/diskstats', 'utf8')
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((f) => f.length > 12 && !/^(loop|ram|dm-)/.test(f[2]))
      .map((f) => f[12])
      .join(' ');
  const deadline = Date.now() + 10_000;
  let last = busy();
  let quietSince = Date.now();
  while (Date.now() < deadline && Date.now() - quietSince < 500) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    const now = busy();
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    }
  }
}

/**
 * Gives `dir` (made if missing) ext4's `T` attribute, as tsbuild gives its snapshot directory
 * (`src/util/spread-directory.ts`): each directory made in it then goes to a block group of its
 * own, away from the inodes the bench's removals freed. The peers get it on the directories their
 * layers and snapshots are made in, so that no builder pays for this file system's reuse rule
 * where a developer's ext4 with a journal would not. Nothing happens where the file system lacks it.
 */
export function spreadDirectory(dir) {
  mkdirSync(dir, { recursive: true });
  spawnSync('chattr', ['+T', dir], { stdio: 'ignore' });
}
