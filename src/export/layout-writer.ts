/**
 * Where an image layout is written: a directory (blobs added when missing, `index.json` merged
 * under a lock, so several builds can share one layout) or a tar file (written beside its
 * destination and renamed into place only when complete). Both take blobs as streams from the
 * content store, never whole in memory, and leave nothing half-written when aborted. What they
 * write first is named after the writer (`util/private-sibling.ts`): what a killed build left is
 * removed when the destination is written again.
 */
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { privateSibling, removeDeadSiblings } from '../util/private-sibling.js';
import { makeDirs } from '../util/make-dirs.js';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TarHeader } from '../archive/tar.js';
import { TarWriter } from '../archive/tar-writer.js';
import type { ContentStore } from '../content/store.js';
import { digestHex, parseDigest } from '../digest/digest.js';
import type { Descriptor } from '../image/oci-types.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { acquireLock, type Release } from '../util/file-lock.js';
import { statIfExists } from '../util/absent.js';

/** A layout being written. */
export interface LayoutWriter {
  /** The destination, for messages. */
  readonly location: string;
  /** Adds the blob `descriptor` from the store (once; later calls for the same digest do nothing). */
  addBlob(descriptor: Descriptor, store: ContentStore): Promise<void>;
  /** The current content of a top-level file (`index.json`), if the destination has one. */
  readFile(name: string): Promise<Buffer | undefined>;
  /** Writes a small top-level file. */
  writeFile(name: string, content: string): Promise<void>;
  /** Makes everything visible. */
  commit(): Promise<void>;
  /** Drops what was written (for a tar, the whole file; for a directory, nothing else). */
  abort(): Promise<void>;
}

/** The blob path inside a layout. */
export function blobPath(digest: string): string {
  return `blobs/sha256/${digestHex(parseDigest(digest))}`;
}

/**
 * Opens a layout at `dest`: a tar file when `tar`, else a directory; or a tar written straight to
 * a stream (stdout for `dest=-`), which is left open and cannot be taken back when aborted.
 */
export async function openLayout(dest: string | Writable, tar: boolean, signal?: AbortSignal): Promise<LayoutWriter> {
  if (typeof dest !== 'string') return TarLayout.toStream(dest, signal);
  return tar ? TarLayout.open(dest, signal) : DirectoryLayout.open(dest, signal);
}

/** The top-level files a layout writer writes (atomically, through private siblings). */
const LAYOUT_FILES = ['index.json', 'oci-layout', 'manifest.json', 'repositories'];

class DirectoryLayout implements LayoutWriter {
  get location(): string {
    return this.dir;
  }

  private constructor(
    private readonly dir: string,
    private readonly release: Release,
    private readonly signal: AbortSignal | undefined,
  ) {}

  static async open(dir: string, signal?: AbortSignal): Promise<DirectoryLayout> {
    await makeDirs(path.join(dir, 'blobs', 'sha256'));
    const release = await acquireLock(path.join(dir, 'index.json'));
    // What a killed writer left (half-copied blobs, its top-level files' temporary files, named
    // with its tag) goes before this one writes; in the top directory, only siblings of the files a
    // layout has: the rest of it is the user's.
    try {
      await removeDeadSiblings(path.join(dir, 'blobs', 'sha256'));
      await removeDeadSiblings(dir, LAYOUT_FILES);
    } catch (err) {
      await release();
      throw err;
    }
    return new DirectoryLayout(dir, release, signal);
  }

  async addBlob(descriptor: Descriptor, store: ContentStore): Promise<void> {
    const target = path.join(this.dir, blobPath(descriptor.digest));
    const existing = await statIfExists(target);
    if (existing?.size === descriptor.size) return;
    const temp = privateSibling(target, 'tmp');
    try {
      await pipeline(await store.reader(parseDigest(descriptor.digest), this.options()), createWriteStream(temp), this.options());
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async readFile(name: string): Promise<Buffer | undefined> {
    return readFile(path.join(this.dir, name)).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
  }

  async writeFile(name: string, content: string): Promise<void> {
    await writeFileAtomic(path.join(this.dir, name), content);
  }

  async commit(): Promise<void> {
    await this.release();
  }

  async abort(): Promise<void> {
    await this.release();
  }

  private options(): { signal?: AbortSignal } {
    return this.signal ? { signal: this.signal } : {};
  }
}

class TarLayout implements LayoutWriter {
  get location(): string {
    return this.file?.dest ?? '-';
  }

  private readonly tar = new TarWriter();
  private readonly added = new Set<string>();
  /** Top-level files, written after the blobs so a later write can replace an earlier one. */
  private readonly files = new Map<string, Buffer>();
  private readonly mtime = new Date(0);
  private readonly flowing: Promise<void>;
  /** Why writing the file failed (then every later step reports that, not the tar's state). */
  private failure: unknown;

  /** `file`: the destination and the temp file written first; none for a stream. */
  private constructor(
    private readonly file: { dest: string; temp: string } | undefined,
    target: Writable,
    signal: AbortSignal | undefined,
  ) {
    // A stream the caller owns (stdout) stays open for whatever follows.
    this.flowing = pipeline(this.tar.stream, target, { ...(signal ? { signal } : {}), end: file !== undefined });
    this.flowing.catch((err: unknown) => (this.failure ??= err));
  }

  private async add(header: TarHeader, body?: Readable): Promise<void> {
    try {
      await this.tar.add(header, body);
    } catch (err) {
      throw this.failure ?? err;
    }
  }

  static async open(dest: string, signal?: AbortSignal): Promise<TarLayout> {
    await makeDirs(path.dirname(path.resolve(dest)));
    // Named with this process's tag: what a killed writer left beside the file goes first.
    await removeDeadSiblings(path.dirname(path.resolve(dest)), [path.basename(dest)]);
    const temp = privateSibling(dest, 'tmp');
    return new TarLayout({ dest, temp }, createWriteStream(temp), signal);
  }

  static toStream(target: Writable, signal?: AbortSignal): TarLayout {
    return new TarLayout(undefined, target, signal);
  }

  async addBlob(descriptor: Descriptor, store: ContentStore): Promise<void> {
    const name = blobPath(descriptor.digest);
    if (this.added.has(name)) return;
    if (this.added.size === 0) await this.directory('blobs/', 'blobs/sha256/');
    this.added.add(name);
    const body: Readable = await store.reader(parseDigest(descriptor.digest));
    await this.add({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: descriptor.size, mtime: this.mtime }, body);
  }

  async readFile(name: string): Promise<Buffer | undefined> {
    return this.files.get(name);
  }

  async writeFile(name: string, content: string): Promise<void> {
    this.files.set(name, Buffer.from(content));
  }

  async commit(): Promise<void> {
    for (const [name, bytes] of this.files) {
      await this.add({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: bytes.length, mtime: this.mtime }, Readable.from([bytes]));
    }
    await this.tar.finish();
    await this.flowing;
    if (this.file) await rename(this.file.temp, this.file.dest);
  }

  async abort(): Promise<void> {
    this.tar.destroy();
    await this.flowing.catch(() => undefined); // the writer's own error was reported where it happened
    if (this.file) await rm(this.file.temp, { force: true });
  }

  private async directory(...names: string[]): Promise<void> {
    for (const name of names) await this.add({ name, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: this.mtime });
  }
}
