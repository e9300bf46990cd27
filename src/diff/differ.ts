/**
 * Writing changes as a layer in one streaming pass: tar → sha256 (the diffID) → gzip → the content
 * store (which hashes again: the digest). Entries are in path order with their parent directories
 * (so a layer never implies directory metadata it does not carry), owners are numeric, whiteouts
 * have zero times, and `sourceDateEpoch` clamps newer mtimes: the same change gives the same digest.
 */
import { createReadStream } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { gzip } from '../archive/compression.js';
import { TarWriter, type TarHeader } from '../archive/tar.js';
import { opaqueName, whiteoutName } from '../archive/whiteout.js';
import type { ContentStore } from '../content/store.js';
import type { Digest } from '../digest/digest.js';
import { HashingStream } from '../digest/hashing.js';
import { MediaType, type Descriptor } from '../image/oci-types.js';
import { comparePaths, type Change } from './changes.js';
import { xattrsUnder } from '../util/native.js';

/** A layer written to the content store. */
export interface LayerResult {
  descriptor: Descriptor;
  diffID: Digest;
}

export interface WriteLayerOptions {
  /** Seconds since the epoch; newer file times are clamped to it. */
  sourceDateEpoch?: number;
  signal?: AbortSignal;
}

const EPOCH = new Date(0);

/** Writes `changes` (read from the tree at `root`) as a gzipped layer into `store`. */
export async function writeLayer(changes: readonly Change[], root: string, store: ContentStore, options: WriteLayerOptions = {}): Promise<LayerResult> {
  const xattrs = await xattrsUnder(root).catch(() => new Map<string, Map<string, Buffer>>());
  const tar = new TarWriter();
  const diffID = new HashingStream();
  const writer = await store.writer(options.signal ? { signal: options.signal } : {});
  const flowing = pipeline(tar.stream, diffID, gzip(), writer.stream, options.signal ? { signal: options.signal } : {});
  flowing.catch(() => undefined);
  const clamp = (date: Date): Date => (options.sourceDateEpoch !== undefined && date.getTime() > options.sourceDateEpoch * 1000 ? new Date(options.sourceDateEpoch * 1000) : date);
  try {
    const written = new Set<string>();
    const links = new Map<string, string>();
    const entry = async (rel: string): Promise<void> => {
      if (written.has(rel)) return;
      written.add(rel);
      const abs = path.join(root, rel);
      const stat = await lstat(abs);
      const header: TarHeader = { name: stat.isDirectory() ? `${rel}/` : rel, type: 'file', mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, mtime: clamp(stat.mtime) };
      const attrs = [...(xattrs.get(abs) ?? new Map<string, Buffer>())].filter(([k]) => !k.startsWith('trusted.overlay.'));
      if (attrs.length > 0) header.xattrs = Object.fromEntries(attrs);
      const inode = `${stat.dev}:${stat.ino}`;
      if (stat.isFile() && stat.nlink > 1 && links.has(inode)) {
        await tar.add({ ...header, type: 'link', linkname: links.get(inode) ?? '' });
      } else if (stat.isFile()) {
        if (stat.nlink > 1) links.set(inode, rel);
        await tar.add({ ...header, size: stat.size }, createReadStream(abs));
      } else if (stat.isDirectory()) {
        await tar.add({ ...header, type: 'directory' });
      } else if (stat.isSymbolicLink()) {
        await tar.add({ ...header, type: 'symlink', linkname: await readlink(abs) });
      } else {
        const type = stat.isCharacterDevice() ? 'character-device' : stat.isBlockDevice() ? 'block-device' : 'fifo';
        await tar.add({ ...header, type, devmajor: (stat.rdev >> 8) & 0xfff, devminor: (stat.rdev & 0xff) | ((stat.rdev >> 12) & 0xfff00) });
      }
    };
    const parents = async (rel: string): Promise<void> => {
      const parts = rel.split('/');
      for (let i = 1; i < parts.length; i++) await entry(parts.slice(0, i).join('/'));
    };
    for (const change of [...changes].sort((a, b) => comparePaths(a.path, b.path))) {
      await parents(change.path);
      if (change.kind === 'delete') {
        await tar.add({ name: whiteoutName(change.path), type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: EPOCH });
        continue;
      }
      await entry(change.path);
      if (change.opaque) await tar.add({ name: opaqueName(change.path), type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: EPOCH });
    }
    tar.finish();
    await flowing;
    const { digest, size } = await writer.commit();
    return { descriptor: { mediaType: MediaType.OciLayerGzip, digest, size }, diffID: diffID.digest.digest };
  } catch (err) {
    tar.destroy(err as Error);
    await writer.abort();
    throw err;
  }
}
