/**
 * The context's files, kept in the state root so that a COPY can hard-link them into its snapshot
 * instead of copying them again (issue 17: a rebuild after one edited file should cost what changed,
 * not the whole context). A user's own files are never linked: an editor writing in place would
 * change the image after the fact. Each entry is an immutable copy of one version of one source
 * file, named after that version's identity (device, inode, size, modification and change times,
 * mode), owned by root (0:0, what a context file becomes in the image), with the source's mode
 * and times. An edited file has a new identity and gets a new entry; the old one stays while a
 * snapshot links it, and `prune` removes the entries no snapshot links any more (link count 1).
 * An entry is the first snapshot's copy of that version, linked into the mirror once written
 * (`adopt`): it is never seen half-written, concurrent builds share it, and a killed build leaves
 * nothing in the mirror to reclaim.
 */
import { existsSync, linkSync, mkdirSync, type Stats } from 'node:fs';
import { lstat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { namesIn, unlessAbsent } from '../util/absent.js';
import { sha256Hex } from '../digest/digest.js';

/** What `prune` removed. */
export interface MirrorPruneResult {
  entries: number;
  bytes: number;
}

export class FileMirror {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  /** The mirror of the state root `root`. */
  static of(root: string): FileMirror {
    return new FileMirror(path.join(root, 'context-files'));
  }

  /** Where the entry of the source version `stat` describes is (whether it exists or not). */
  pathOf(stat: Stats): string {
    return `${this.dir}/${entryName(stat)}`;
  }

  /**
   * Makes `file`, a finished copy of the source version `stat` describes (0:0, the source's mode
   * and times) in a snapshot, that version's entry too, unless another build made one first. It
   * appears whole or not at all: it is linked only once written.
   */
  adopt(file: string, stat: Stats): void {
    try {
      linkSync(file, this.pathOf(stat));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && !existsSync(this.dir)) {
        mkdirSync(this.dir, { recursive: true });
        this.adopt(file, stat);
        return;
      }
      // Another build's copy of the same version is the entry; or the mirror cannot link this
      // file (another file system, too many links): the next build copies it again, nothing else.
      if (code !== 'EEXIST' && code !== 'EXDEV' && code !== 'EMLINK' && code !== 'EPERM') throw err;
    }
  }

  /** Removes the entries no snapshot links (and nothing a live writer is making). */
  async prune(): Promise<MirrorPruneResult> {
    const result = { entries: 0, bytes: 0 };
    for (const name of await namesIn(this.dir)) {
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
  return sha256Hex(identity);
}
