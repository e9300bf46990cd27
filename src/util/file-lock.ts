/**
 * A cross-process lock on a file path: `<path>.lock`, holding the owner's tag (`util/owner.ts`:
 * pid and start time). Node has no flock(2). The lock file is written in full under a private name
 * first and then hard-linked into place (link(2) fails if the name exists, atomically), so a lock
 * file never exists empty or half-written: a full disk while writing leaves only the private file,
 * which is removed (a kill leaves it for the next tsbuild to reclaim: `util/private-sibling.ts`). A lock whose owner is no longer alive is taken over, so a killed
 * process never blocks the next one; an unreadable or empty lock (written by an older tsbuild)
 * counts as abandoned once it is a few seconds old. Within one process, `withFileLock` callers
 * queue on a promise chain first, so a waiter gets the lock the moment it is released instead of
 * polling for it (parallel stages update the same metadata files).
 */
import { linkSync, unlinkSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { UnavailableError } from '../errors.js';
import { ownerAlive, ownerTag } from './owner.js';
import { privateSibling } from './private-sibling.js';
import { readOwnTextIfExists, unlessAbsentNow } from './absent.js';

/** A lock file without a readable owner is abandoned after this long. */
const UNREADABLE_LOCK_MS = 5_000;

/** Releases a lock. */
export type Release = () => Promise<void>;

/**
 * Takes the lock for `file` if it is free right now; undefined when another process holds it. The
 * calls are synchronous: a lock is a few tiny files in the state root, taken and released around
 * every cache lookup and record, and a round trip through the thread pool per call cost more than
 * the calls themselves (see `readOwnTextIfExists`).
 */
export async function tryLock(file: string): Promise<Release | undefined> {
  const lock = `${file}.lock`;
  const tag = ownerTag();
  const staged = privateSibling(file, 'lock');
  try {
    writeFileSync(staged, tag, { flag: 'wx' });
  } catch (err) {
    // The write's own error (ENOSPC, EACCES) is what the caller needs; the half-written file goes.
    unlessAbsentNow(() => unlinkSync(staged));
    throw err;
  }
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(staged, lock);
        return async () => unlessAbsentNow(() => unlinkSync(lock));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (!(await ownerIsGone(lock))) return undefined;
        unlessAbsentNow(() => unlinkSync(lock)); // another process may have taken it over first
      }
    }
    return undefined;
  } finally {
    unlessAbsentNow(() => unlinkSync(staged));
  }
}

/** Waits (up to `timeoutMs`) for the lock for `file`. */
export async function acquireLock(file: string, timeoutMs = 30_000): Promise<Release> {
  const deadline = Date.now() + timeoutMs;
  let wait = 5;
  for (;;) {
    const release = await tryLock(file);
    if (release) return release;
    if (Date.now() > deadline) throw new UnavailableError(`timed out waiting for the lock ${file}.lock (held by another tsbuild process)`);
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 2, 100);
  }
}

/** This process's queue for each locked file: the promise the next caller waits for. */
const queues = new Map<string, Promise<void>>();

/** Runs `fn` while holding the lock for `file`. */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const previous = queues.get(file) ?? Promise.resolve();
  let done!: () => void;
  const gate = new Promise<void>((resolve) => (done = resolve));
  const mine = previous.then(() => gate);
  queues.set(file, mine);
  await previous;
  try {
    const release = await acquireLock(file, timeoutMs);
    try {
      return await fn();
    } finally {
      await release();
    }
  } finally {
    done();
    if (queues.get(file) === mine) queues.delete(file);
  }
}

async function ownerIsGone(lock: string): Promise<boolean> {
  const owner = (await readOwnTextIfExists(lock))?.trim();
  if (owner === undefined) return false; // released meanwhile: the next attempt will tell
  if (/^\d+(\.\d+)?$/.test(owner)) return !ownerAlive(owner);
  const age = await stat(lock).then(
    (s) => Date.now() - s.mtimeMs,
    () => 0,
  );
  return age > UNREADABLE_LOCK_MS;
}
