/**
 * Reading what may not be there. A path that does not exist (ENOENT), or whose parent is not a
 * directory (ENOTDIR), is *absent*: these helpers answer `undefined` (or an empty list) for it and
 * let every other error through. Catching all errors into "absent" would turn a permission problem,
 * a symlink loop or a full disk into a wrong answer, silently.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { lstat, readdir, readFile, stat } from 'node:fs/promises';

/** True for the errors that mean "nothing at this path". */
export function isAbsent(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** `promise`'s value, or undefined when it failed because a path is absent. */
export async function unlessAbsent<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (err) {
    if (isAbsent(err)) return undefined;
    throw err;
  }
}

/** `fn()`'s value, or undefined when it failed because a path is absent: `unlessAbsent` for a synchronous call. */
export function unlessAbsentNow<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (isAbsent(err)) return undefined;
    throw err;
  }
}

/** `lstat`, or undefined when nothing is there. */
export function lstatIfExists(file: string): Promise<Stats | undefined> {
  return unlessAbsent(lstat(file));
}

/**
 * `lstatIfExists` in one synchronous call, for resolvers and walkers: an `lstat` never waits on what
 * it finds, and an asynchronous one is a thread-pool round trip that waits for the event loop's
 * next turn while another step's layer is written.
 */
export function lstatNow(file: string): Stats | undefined {
  return unlessAbsentNow(() => lstatSync(file));
}

/**
 * The text of `file` if it is a regular file (undefined when absent, '' when it is something
 * else), read with synchronous calls that cannot block on what an input put there: nothing but a
 * regular file is opened, without following a final symlink and without waiting for a FIFO's
 * writer, and what was opened is checked again. For small files inside a tree an image made (its
 * /etc/passwd), read on a RUN's way to its container.
 */
export function readRegularTextNow(file: string): string | undefined {
  const found = lstatNow(file);
  if (!found) return undefined;
  if (!found.isFile()) return '';
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    return fstatSync(fd).isFile() ? readFileSync(fd, 'utf8') : '';
  } finally {
    closeSync(fd);
  }
}

/** `stat` (following symlinks), or undefined when nothing is there. */
export function statIfExists(file: string): Promise<Stats | undefined> {
  return unlessAbsent(stat(file));
}

/** A file's text, or undefined when it does not exist. */
export function readTextIfExists(file: string): Promise<string | undefined> {
  return unlessAbsent(readFile(file, 'utf8'));
}

/** A directory's entry names, or none when it does not exist. */
export async function namesIn(dir: string): Promise<string[]> {
  return (await unlessAbsent(readdir(dir))) ?? [];
}

/**
 * A file's text, or undefined when it does not exist, read with synchronous calls: for tsbuild's
 * own small state files (cache records, leases, locks, the snapshot metadata). An asynchronous read
 * is four round trips through the thread pool (open, stat, read, close), each waiting for the event
 * loop's next turn, and a rebuild reads and locks dozens of these files one after another. Never for
 * a path an input names: a FIFO there would block the whole process, Ctrl-C included.
 */
export async function readOwnTextIfExists(file: string): Promise<string | undefined> {
  return unlessAbsentNow(() => readFileSync(file, 'utf8'));
}
