/**
 * Applying a layer tar to a directory. Two modes:
 * - `overlay`: the directory is an overlay layer of its own (a snapshot's upper dir): OCI whiteouts
 *   become overlay whiteouts (`.wh.x` → character device 0/0, `.wh..wh..opq` → the
 *   `trusted.overlay.opaque` xattr);
 * - `plain`: the directory is a whole root filesystem (copying snapshotter): whiteouts delete.
 * Owners, modes, times, hard links, symlinks, devices and xattrs are kept. Entries that would land
 * outside the directory, or be written through a symlink, are refused.
 */
import { lstatSync, mkdirSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { layerDecompressor, type LayerCompression } from '../archive/compression.js';
import { cleanEntryName, cleanLinkTarget, PathEscapeError } from '../archive/safe-path.js';
import { readTar, type TarHeader } from '../archive/tar.js';
import { whiteoutOf } from '../archive/whiteout.js';
import { HashingStream } from '../digest/hashing.js';
import type { Digest } from '../digest/digest.js';
import { writeEntry } from '../archive/write-entry.js';
import { mknod, setXattr } from '../util/native.js';

export interface ApplyOptions {
  mode: 'overlay' | 'plain';
  /** How `source` is compressed (default gzip); see `layerCompression` for a media type's. */
  compression?: LayerCompression;
  signal?: AbortSignal;
}

/** Unpacks `source` into `root`; resolves to the layer's diffID (sha256 of the uncompressed tar). */
export async function applyLayer(source: Readable, root: string, options: ApplyOptions): Promise<Digest> {
  const hashing = new HashingStream();
  const decompressor = layerDecompressor(options.compression ?? 'gzip');
  source.on('error', (err) => decompressor.destroy(err));
  decompressor.on('error', (err) => hashing.destroy(err));
  const tarStream = source.pipe(decompressor).pipe(hashing);
  try {
    return await unpack(tarStream, hashing, root, options);
  } catch (err) {
    decompressor.destroy();
    throw err;
  }
}

async function unpack(tarStream: Readable, hashing: HashingStream, root: string, options: ApplyOptions): Promise<Digest> {
  const created = new Set<string>();
  const dirTimes: Array<[string, Date]> = [];
  for await (const { header, body } of readTar(tarStream)) {
    if (options.signal?.aborted) throw options.signal.reason;
    const name = cleanEntryName(header.name);
    if (name === '') {
      body.resume();
      continue;
    }
    const white = whiteoutOf(name);
    if (white.kind === 'opaque') {
      const dir = safeTarget(root, white.dir, header.name, true);
      if (options.mode === 'overlay') await setXattr(dir, 'trusted.overlay.opaque', Buffer.from('y'));
      else for (const child of readdirSync(dir)) if (!created.has(path.posix.join(white.dir, child))) rmSync(path.join(dir, child), { recursive: true, force: true });
      body.resume();
      continue;
    }
    if (white.kind === 'whiteout') {
      const target = safeTarget(root, white.target, header.name, false);
      rmSync(target, { recursive: true, force: true });
      if (options.mode === 'overlay') await mknod(target, 'c', 0, 0);
      body.resume();
      continue;
    }
    const target = safeTarget(root, name, header.name, false);
    await writeEntry(target, header, body, header.type === 'link' ? { linkSource: linkSourceFor(root, name, header) } : {});
    created.add(name);
    if (header.type === 'directory') dirTimes.push([target, header.mtime]);
  }
  // Directory times last: creating their children changed them.
  for (const [dir, mtime] of dirTimes.reverse()) utimesSync(dir, mtime, mtime);
  return hashing.digest.digest;
}

/**
 * The absolute path for `name` under `root`, with missing parents created and no symlink among
 * them (a symlink written earlier by the same archive must not redirect later entries).
 */
function safeTarget(root: string, name: string, entry: string, isDir: boolean): string {
  const parts = name === '' ? [] : name.split('/');
  let current = root;
  for (const [i, part] of parts.entries()) {
    current = path.join(current, part);
    const last = i === parts.length - 1;
    const stat = lstatSync(current, { throwIfNoEntry: false });
    if (stat?.isSymbolicLink() && !last) throw new PathEscapeError(entry, `"${parts.slice(0, i + 1).join('/')}" is a symlink and would be written through`);
    if (!stat && (!last || isDir)) mkdirSync(current, { mode: 0o755 });
  }
  return current;
}

/** Hard links must point at a file this layer already wrote, inside `root`. */
function linkSourceFor(root: string, name: string, header: TarHeader): string {
  const source = cleanLinkTarget(name, header.linkname ?? '');
  const from = safeTarget(root, source, name, false);
  const stat = lstatSync(from, { throwIfNoEntry: false });
  if (!stat || stat.isDirectory()) throw new PathEscapeError(name, `its hard link target "${header.linkname}" is not a file in this layer`);
  return from;
}
