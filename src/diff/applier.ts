/**
 * Applying a layer tar to a directory. Three modes:
 * - `overlay`: the directory is an overlay layer of its own (a snapshot's upper dir): OCI whiteouts
 *   become overlay whiteouts (`.wh.x` → character device 0/0, `.wh..wh..opq` → the
 *   `trusted.overlay.opaque` xattr);
 * - `fuse-overlayfs`: the same for a fuse-overlayfs upper dir, where the OCI markers stay empty
 *   files (fuse-overlayfs reads them as its own; a device 0/0 cannot be made in a user namespace
 *   before Linux 5.8, the kernels fuse-overlayfs is for);
 * - `plain`: the directory is a whole root filesystem (copying snapshotter): whiteouts delete.
 * Owners, modes, times, hard links, symlinks, devices and xattrs are kept. Entries that would land
 * outside the directory are refused.
 *
 * Symlinks on an entry's way are treated as Docker Engine 28.5 applies layers (go-archive into the
 * layer's own directory, checked with its BuildKit): a symlink this same layer made is followed
 * inside the root (`lib -> usr/lib` then `lib/x.so` writes `usr/lib/x.so`; an absolute target starts
 * again at the root, a relative one climbing out is refused); a lower layer's symlink is not seen
 * at all, so the entry's parent is a directory of this layer that hides it (overlay shows exactly
 * that; in plain mode the symlink is replaced by a directory).
 */
import { lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, utimesSync, writeFileSync, type Stats } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { layerDecompressor, type LayerCompression } from '../archive/compression.js';
import { cleanEntryName, cleanLinkTarget, linkTargetInRoot, PathEscapeError } from '../archive/safe-path.js';
import { readTar, type TarHeader } from '../archive/tar.js';
import { OPAQUE_MARKER, whiteoutName, whiteoutOf } from '../archive/whiteout.js';
import { HashingStream } from '../digest/hashing.js';
import type { Digest } from '../digest/digest.js';
import { writeEntry } from '../archive/write-entry.js';
import { mknod, setXattr } from '../util/native.js';
import { readFailure, type ContentStore } from '../content/store.js';
import type { Descriptor } from '../image/oci-types.js';
import { layerCompression } from '../archive/compression.js';
import { writeTarget, type OverlayXattrPrefix } from '../snapshot/mount-data.js';
import type { Mount } from '../snapshot/snapshotter.js';

/** The applier contract (containerd's `Applier`): a stored layer unpacked onto a writable snapshot's mounts. */
export interface Applier {
  /** Unpacks `layer` into the snapshot `mounts` show; resolves to its diffID. */
  apply(layer: Descriptor, mounts: readonly Mount[], options?: { signal?: AbortSignal }): Promise<Digest>;
}

/** Applies layers from a content store, in overlay mode onto an overlay's upper dir, plainly onto a whole tree. */
export class StoreApplier implements Applier {
  constructor(private readonly store: ContentStore) {}

  async apply(layer: Descriptor, mounts: readonly Mount[], options: { signal?: AbortSignal } = {}): Promise<Digest> {
    const target = writeTarget(mounts);
    const digest = layer.digest as Digest;
    const source = await this.store.reader(digest, options);
    const prefix = target.xattrPrefix ? { overlayXattrPrefix: target.xattrPrefix } : {};
    // A damaged blob usually breaks decompression before its digest is checked: named as damaged.
    return applyLayer(source, target.dir, { mode: target.mode, ...prefix, compression: layerCompression(layer.mediaType), ...options }).catch(
      async (err: unknown) => Promise.reject(await readFailure(this.store, digest, err)),
    );
  }
}

export interface ApplyOptions {
  mode: 'overlay' | 'fuse-overlayfs' | 'plain';
  /** Where overlay mode writes the opaque marker (`user.overlay.` for a `userxattr` mount); default `trusted.overlay.`. */
  overlayXattrPrefix?: OverlayXattrPrefix;
  /** Owner for every entry instead of the header's. */
  owner?: { uid: number; gid: number };
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
  const dirs = new LayerPaths();
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
      const dir = safeTarget(root, white.dir, header.name, true, dirs).path;
      if (options.mode === 'overlay') await setXattr(dir, `${options.overlayXattrPrefix ?? 'trusted.overlay.'}opaque`, Buffer.from('y'));
      else if (options.mode === 'fuse-overlayfs') writeFileSync(path.join(dir, OPAQUE_MARKER), '', { mode: 0o700 });
      else {
        for (const child of readdirSync(dir)) {
          if (created.has(path.join(dir, child))) continue;
          dirs.forget(path.join(dir, child));
          rmSync(path.join(dir, child), { recursive: true, force: true });
        }
      }
      body.resume();
      continue;
    }
    if (white.kind === 'whiteout') {
      const target = safeTarget(root, white.target, header.name, false, dirs).path;
      dirs.forget(target);
      rmSync(target, { recursive: true, force: true });
      if (options.mode === 'overlay') await mknod(target, 'c', 0, 0);
      else if (options.mode === 'fuse-overlayfs')
        writeFileSync(path.join(path.dirname(target), whiteoutName(path.basename(target))), '', { mode: 0o700 });
      body.resume();
      continue;
    }
    const { path: target, existing } = safeTarget(root, name, header.name, false, dirs);
    // A directory replaced by something else takes what was checked below it along.
    if (header.type !== 'directory' && existing?.isDirectory()) dirs.forget(target);
    await writeEntry(target, header, body, {
      existing: existing ?? null,
      ...(options.owner ? { owner: options.owner } : {}),
      ...(header.type === 'link' ? { linkSource: linkSourceFor(root, name, header, dirs) } : {}),
    });
    created.add(target);
    if (header.type === 'symlink') dirs.addLink(target);
    if (header.type === 'directory') {
      dirs.add(target);
      dirTimes.push([target, header.mtime]);
    }
  }
  // Directory times last: creating their children changed them.
  for (const [dir, mtime] of dirTimes.reverse()) utimesSync(dir, mtime, mtime);
  return hashing.digest.digest;
}

/**
 * What this apply knows about paths: directories known to be real directories (created or checked
 * here), so each entry checks only the parents it has not seen (most layers hold thousands of
 * entries in a few hundred directories); and the symlinks this layer wrote, the only ones an
 * entry may go through.
 */
class LayerPaths {
  private readonly dirs = new Set<string>();
  private readonly links = new Set<string>();

  has(dir: string): boolean {
    return this.dirs.has(dir);
  }

  add(dir: string): void {
    this.dirs.add(dir);
  }

  addLink(link: string): void {
    this.links.add(link);
  }

  ownLink(link: string): boolean {
    return this.links.has(link);
  }

  /** `target` is being replaced or deleted: it and everything under it must be checked again. */
  forget(target: string): void {
    const below = `${target}/`;
    for (const dir of this.dirs) if (dir === target || dir.startsWith(below)) this.dirs.delete(dir);
  }
}

const MAX_LINKS = 255;

/**
 * The absolute path for `name` under `root` and what is at that path now, with missing parents
 * created. A parent that is a symlink this layer wrote is followed inside the root (a relative one
 * climbing out is refused); a lower layer's symlink is replaced by a directory, as this layer's
 * own tree (an overlay upper directory) has one there.
 */
function safeTarget(root: string, name: string, entry: string, isDir: boolean, dirs: LayerPaths): { path: string; existing: Stats | undefined } {
  let parts = name === '' ? [] : name.split('/');
  let hops = 0;
  let followedAbsolute = false;
  walk: for (;;) {
    let current = root;
    let existing: Stats | undefined;
    for (const [i, part] of parts.entries()) {
      current = path.join(current, part);
      const last = i === parts.length - 1;
      if (!last && dirs.has(current)) continue;
      let stat = lstatSync(current, { throwIfNoEntry: false });
      if (stat?.isSymbolicLink() && !last) {
        const link = parts.slice(0, i + 1).join('/');
        if (dirs.ownLink(current)) {
          if (++hops > MAX_LINKS) throw new PathEscapeError(entry, `too many levels of symbolic links at "${link}"`);
          const target = readlinkSync(current);
          const next = linkTargetInRoot(parts.slice(0, i), target, followedAbsolute);
          if (!next) throw new PathEscapeError(entry, `the symlink "${link}" leads out of the root`);
          followedAbsolute ||= target.startsWith('/');
          parts = [...next, ...parts.slice(i + 1)];
          continue walk;
        }
        rmSync(current);
        stat = undefined;
      }
      if (!stat && (!last || isDir)) mkdirSync(current, { mode: 0o755 });
      if (!last && (!stat || stat.isDirectory())) dirs.add(current);
      if (last) existing = stat;
    }
    return { path: current, existing };
  }
}

/** Hard links must point at a file this layer already wrote, inside `root`. */
function linkSourceFor(root: string, name: string, header: TarHeader, dirs: LayerPaths): string {
  const source = cleanLinkTarget(name, header.linkname ?? '');
  const { path: from, existing } = safeTarget(root, source, name, false, dirs);
  if (!existing || existing.isDirectory()) throw new PathEscapeError(name, `its hard link target "${header.linkname}" is not a file in this layer`);
  return from;
}
