/**
 * COPY by hard links (issue 17). A copy from the build context defers each regular file that lands
 * in a directory the same copy created: nothing of a lower layer can show through such a directory,
 * so writing into the snapshot's own directory (an overlay's upper dir, a plain tree) after the
 * mount is gone gives the tree the mount would have shown. The deferred files are then linked there
 * from the state root's file mirror (`file-mirror.ts`), in one pass, instead of being copied: an
 * unchanged file of a big `COPY .` costs a `link`, not a read and a write. What cannot be linked
 * the same way is copied through the mount as before: a file with other owners or mode (`--chown`,
 * `--chmod`, `--from`), a source with hard links of its own (the copy keeps those), a source copied
 * twice by one step (two paths must not become one inode), and any file into a directory the
 * parent layers already have.
 */
import { linkSync, lstatSync, utimesSync, type Stats } from 'node:fs';
import path from 'node:path';
import { TimeSlicer } from '../util/time-slice.js';
import { copyFileAs } from './copy-file.js';
import type { FileMirror } from './file-mirror.js';

interface Deferred {
  source: string;
  stat: Stats;
}

export class DeferredLinks {
  /** Directories this copy created, as paths in the mounted rootfs. */
  private readonly made = new Set<string>();
  /** Files to link: target in the mounted rootfs → its source. */
  private readonly files = new Map<string, Deferred>();
  /** The sources deferred (device:inode): each may become one path only. */
  private readonly sources = new Set<string>();

  constructor(private readonly mirror: FileMirror) {}

  /** How many files wait to be linked. */
  get size(): number {
    return this.files.size;
  }

  /** The copy created the directory `dir`. */
  madeDir(dir: string): void {
    this.made.add(dir);
  }

  /**
   * Takes the copy of `source` (described by `stat`, owned 0:0 with its own mode) to `target`, to
   * be linked later; false when it is to be copied now.
   */
  take(source: string, target: string, stat: Stats): boolean {
    if (!stat.isFile() || stat.nlink !== 1 || !this.made.has(path.dirname(target))) return false;
    const id = `${stat.dev}:${stat.ino}`;
    if (this.sources.has(id)) return false;
    this.sources.add(id);
    this.files.set(target, { source, stat });
    return true;
  }

  /** Whatever was to be linked at `target` is replaced: it is not linked. */
  drop(target: string): void {
    const deferred = this.files.get(target);
    if (!deferred) return;
    this.files.delete(target);
    this.sources.delete(`${deferred.stat.dev}:${deferred.stat.ino}`);
  }

  /**
   * Links the deferred files into `writable`, the directory behind the (now unmounted) `rootfs`.
   * The directories they go into keep the times the copy gave them.
   */
  async link(rootfs: string, writable: string, signal?: AbortSignal): Promise<void> {
    const slicer = new TimeSlicer(signal);
    const dirTimes = new Map<string, Stats>();
    // Targets are clean paths under `rootfs` (what `take` was given); a relative/join per file is not free.
    const from = path.join(rootfs, '/');
    const to = path.join(writable, '/');
    for (const [target, { source, stat }] of this.files) {
      await slicer.pause();
      const dest = target.startsWith(from) ? to + target.slice(from.length) : path.join(writable, path.relative(rootfs, target));
      const dir = dest.slice(0, dest.lastIndexOf('/'));
      if (!dirTimes.has(dir)) dirTimes.set(dir, lstatSync(dir));
      await this.linkOne(source, stat, dest);
    }
    for (const [dir, times] of dirTimes) utimesSync(dir, times.atimeMs / 1000, times.mtimeMs / 1000);
  }

  /**
   * Links the mirror's entry of `source` to `dest`; without one, copies the file there and makes
   * that copy the entry for the next build.
   */
  private async linkOne(source: string, stat: Stats, dest: string): Promise<void> {
    try {
      linkSync(this.mirror.pathOf(stat), dest);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // No entry yet; or the mirror is on another file system, or the entry has too many links.
      if (code !== 'ENOENT' && code !== 'EXDEV' && code !== 'EMLINK' && code !== 'EPERM') throw err;
      await copyFileAs(source, dest, stat, { uid: 0, gid: 0, mode: stat.mode & 0o7777 });
      if (code === 'ENOENT') this.mirror.adopt(dest, stat);
    }
  }
}
