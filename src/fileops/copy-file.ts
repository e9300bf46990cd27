/**
 * One regular file copied with the owner, mode and times it is to have. A small file goes in one
 * read and one write, its metadata set through the open descriptor: no further path lookups, and
 * none of `copyFile`'s probing for clones and copy ranges. A large one goes to the thread pool
 * (`copy_file_range` there), not into the caller's time slice.
 */
import { closeSync, fchmodSync, fchownSync, futimesSync, openSync, readFileSync, writeSync, type Stats } from 'node:fs';
import { chmod, copyFile, lchown, utimes } from 'node:fs/promises';
import { SMALL_FILE } from '../util/time-slice.js';

/** What the copy is to have besides the content. */
export interface FileAttributes {
  uid: number;
  gid: number;
  mode: number;
}

/** Copies the regular file `source` (described by `stat`) to the new file `target`. */
export async function copyFileAs(source: string, target: string, stat: Stats, as: FileAttributes): Promise<void> {
  if (stat.size > SMALL_FILE) {
    await copyFile(source, target);
    await lchown(target, as.uid, as.gid);
    await chmod(target, as.mode);
    await utimes(target, stat.atime, stat.mtime);
    return;
  }
  const data = readFileSync(source);
  const fd = openSync(target, 'wx', 0o600);
  try {
    writeSync(fd, data);
    fchownSync(fd, as.uid, as.gid);
    fchmodSync(fd, as.mode);
    futimesSync(fd, stat.atime, stat.mtime);
  } finally {
    closeSync(fd);
  }
}
