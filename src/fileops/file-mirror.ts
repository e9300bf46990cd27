/**
 * The context's files, kept in the state root so that a COPY can hard-link them into its snapshot
 * instead of copying them again (issue 17: a rebuild after one edited file should cost what changed,
 * not the whole context). A user's own files are never linked: an editor writing in place would
 * change the image after the fact. Each entry is an immutable copy of one version of one source
 * file, named after that version's identity (device, inode, size, modification and change times,
 * mode), owned by root (0:0, what a context file becomes in the image), with the source's mode
 * and times. An edited file has a new identity and gets a new entry; the old one stays while a
 * snapshot links it, and `prune` removes the entries no snapshot links any more (link count 1).
 * Entries are made as a private sibling and linked into place, so concurrent builds share them and
 * a killed one leaves nothing that the next reclaim does not remove.
 */
import { createHash } from 'node:crypto';
import { linkSync, lstatSync, mkdirSync, unlinkSync, type Stats } from 'node:fs';
import { lstat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { namesIn, unlessAbsent } from '../util/absent.js';
import { privateSibling, siblingOwner } from '../util/private-sibling.js';
import { copyFileAs } from './copy-file.js';

/** What `prune` removed. */
export interface MirrorPruneResult {
  entries: number;
  bytes: number;
}

export class FileMirror {
  constructor(readonly dir: string) {}

  /** The mirror of the state root `root`. */
  static of(root: string): FileMirror {
    return new FileMirror(path.join(root, 'context-files'));
  }

  /** Where the entry of the source version `stat` describes is (whether it exists or not). */
  pathOf(stat: Stats): string {
    return path.join(this.dir, entryName(stat));
  }

  /**
   * The entry holding the version of `source` that `stat` describes, made now if there is none.
   * `stat` must be the source's own, taken just before: the copy reads what the file holds now.
   */
  async entry(source: string, stat: Stats): Promise<string> {
    const entry = this.pathOf(stat);
    if (lstatSync(entry, { throwIfNoEntry: false })) return entry;
    mkdirSync(this.dir, { recursive: true });
    const temp = privateSibling(entry, 'tmp');
    try {
      await copyFileAs(source, temp, stat, { uid: 0, gid: 0, mode: stat.mode & 0o7777 });
      try {
        linkSync(temp, entry);
      } catch (err) {
        // Another build made the same entry meanwhile: it holds the same version.
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    } finally {
      unlinkSync(temp);
    }
    return entry;
  }

  /** Removes the entries no snapshot links (and nothing a live writer is making). */
  async prune(): Promise<MirrorPruneResult> {
    const result = { entries: 0, bytes: 0 };
    for (const name of await namesIn(this.dir)) {
      if (siblingOwner(name) !== undefined) continue; // a writer's temporary file: the reclaim's
      const file = path.join(this.dir, name);
      const stat = await unlessAbsent(lstat(file));
      if (!stat || stat.nlink > 1) continue;
      await unlessAbsent(unlink(file));
      result.entries++;
      result.bytes += stat.size;
    }
    return result;
  }
}

/** An entry's name: the source version's identity, hashed (no host path or inode shows). */
function entryName(stat: Stats): string {
  const identity = [stat.dev, stat.ino, stat.size, stat.mtimeMs, stat.ctimeMs, stat.mode].join(':');
  return createHash('sha256').update(identity).digest('hex');
}
