/**
 * A cross-process lock on a file path: `O_CREAT|O_EXCL` on `<path>.lock` holding the owner's pid.
 * Node has no flock(2); an exclusive create is atomic on local filesystems. A lock whose owner is
 * no longer alive is taken over, so a killed process never blocks the next one. Within one process,
 * `withFileLock` callers queue on a promise chain first, so a waiter gets the lock the moment it is
 * released instead of polling for it (parallel stages update the same metadata files).
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { TsbuildError } from '../errors.js';

/** Releases a lock. */
export type Release = () => Promise<void>;

/** Takes the lock for `file` if it is free right now; undefined when another process holds it. */
export async function tryLock(file: string): Promise<Release | undefined> {
  const lock = `${file}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lock, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => unlink(lock).catch(() => undefined);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!(await ownerIsGone(lock))) return undefined;
      await unlink(lock).catch(() => undefined);
    }
  }
  return undefined;
}

/** Waits (up to `timeoutMs`) for the lock for `file`. */
export async function acquireLock(file: string, timeoutMs = 30_000): Promise<Release> {
  const deadline = Date.now() + timeoutMs;
  let wait = 5;
  for (;;) {
    const release = await tryLock(file);
    if (release) return release;
    if (Date.now() > deadline) throw new TsbuildError('unavailable', `timed out waiting for the lock ${file}.lock (held by another tsbuild process)`);
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
  const pid = Number(await readFile(lock, 'utf8').catch(() => ''));
  if (!Number.isInteger(pid) || pid <= 0) return false; // being written right now
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
