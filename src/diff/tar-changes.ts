/**
 * Writing changes as tar entries, read from the tree at `root`: entries in path order, each
 * preceded by its parent directories (so a layer never implies directory metadata it does not
 * carry), numeric owners, hard links as links to the first path written, whiteouts and opaque
 * markers with zero times, and times newer than `sourceDateEpoch` clamped to it.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { TarHeader } from '../archive/tar.js';
import type { TarWriter } from '../archive/tar-writer.js';
import { opaqueName, whiteoutName } from '../archive/whiteout.js';
import { SMALL_FILE, TimeSlicer } from '../util/time-slice.js';
import { inPathOrder, type Change } from './changes.js';

/**
 * overlayfs's own attributes (the opaque marker and the like, under `trusted.overlay.` as root and
 * `user.overlay.` in a user namespace) describe the upper dir, not the files: never in a layer.
 */
function isOverlayAttribute(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}

const EPOCH = new Date(0);

/** Adds `changes` to `tar`; `xattrs` are the extended attributes under `root` by absolute path. */
export async function writeChanges(
  tar: TarWriter,
  changes: readonly Change[],
  root: string,
  xattrs: ReadonlyMap<string, ReadonlyMap<string, Buffer>>,
  sourceDateEpoch?: number,
  signal?: AbortSignal,
): Promise<void> {
  const slicer = new TimeSlicer(signal);
  const clamp = (date: Date): Date =>
    sourceDateEpoch !== undefined && date.getTime() > sourceDateEpoch * 1000 ? new Date(sourceDateEpoch * 1000) : date;
  // Entries are looked up as `base + rel` (rel is a clean relative path): a join per entry is not free.
  const base = path.join(root, '/');
  const written = new Set<string>();
  const known = new Map(changes.flatMap((change) => (change.stat ? [[change.path, change.stat] as const] : [])));
  const links = new Map<string, string>();
  const entry = async (rel: string): Promise<void> => {
    if (written.has(rel)) return;
    written.add(rel);
    const abs = base + rel;
    await slicer.pause();
    const stat = known.get(rel) ?? lstatSync(abs);
    const header: TarHeader = {
      name: stat.isDirectory() ? `${rel}/` : rel,
      type: 'file',
      mode: stat.mode & 0o7777,
      uid: stat.uid,
      gid: stat.gid,
      mtime: clamp(stat.mtime),
    };
    const own = xattrs.get(abs);
    if (own) {
      const attrs = [...own].filter(([k]) => !isOverlayAttribute(k));
      if (attrs.length > 0) header.xattrs = Object.fromEntries(attrs);
    }
    const inode = `${stat.dev}:${stat.ino}`;
    if (stat.isFile() && stat.nlink > 1 && links.has(inode)) {
      await tar.add({ ...header, type: 'link', linkname: links.get(inode) ?? '' });
    } else if (stat.isFile()) {
      if (stat.nlink > 1) links.set(inode, rel);
      // A small file is read whole in one call; a large one is streamed in large reads (fewer
      // thread-pool round trips competing with the compressor's blocks).
      if (stat.size <= SMALL_FILE) await tar.addSmallFile({ ...header, size: stat.size }, abs);
      else await tar.addFile({ ...header, size: stat.size }, abs);
    } else if (stat.isDirectory()) {
      await tar.add({ ...header, type: 'directory' });
    } else if (stat.isSymbolicLink()) {
      await tar.add({ ...header, type: 'symlink', linkname: readlinkSync(abs) });
    } else {
      const type = stat.isCharacterDevice() ? 'character-device' : stat.isBlockDevice() ? 'block-device' : 'fifo';
      await tar.add({ ...header, type, devmajor: (stat.rdev >> 8) & 0xfff, devminor: (stat.rdev & 0xff) | ((stat.rdev >> 12) & 0xfff00) });
    }
  };
  const parents = async (rel: string): Promise<void> => {
    for (let slash = rel.indexOf('/'); slash >= 0; slash = rel.indexOf('/', slash + 1)) await entry(rel.slice(0, slash));
  };
  for (const change of inPathOrder(changes)) {
    await parents(change.path);
    if (change.kind === 'delete') {
      await tar.add({ name: whiteoutName(change.path), type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: EPOCH });
      continue;
    }
    await entry(change.path);
    if (change.opaque) await tar.add({ name: opaqueName(change.path), type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: EPOCH });
  }
}
