/**
 * Changes from an overlay upper directory, without walking the lower layers (the fast path):
 * - a character device 0/0 is a deletion;
 * - a directory with `trusted.overlay.opaque=y` hides the lower directory's contents;
 * - anything else is an add, or a modify when a lower layer has the path — unless it is a copy-up
 *   that changed nothing (same type, mode, owner, size, mtime, link target and bytes), which is
 *   dropped (BuildKit #2480).
 * A fuse-overlayfs upper dir (`format: 'fuse-overlayfs'`) is read with its own markers
 * (`fuse-markers.ts`), and a directory only copy-ups moved gets its lower time back first, so its
 * layers are the ones overlayfs gives.
 * A path is looked up in the lower layers one component at a time, never through a symlink: a lower
 * layer where a parent is a file or a symlink (the upper layer replaced it with a directory) does
 * not have the path, and the lookup never reads outside the layer directories.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync, utimesSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { inPathOrder, type Change } from './changes.js';
import { xattrsUnder } from '../util/native.js';
import type { OverlayXattrPrefix, UpperFormat } from '../snapshot/mount-data.js';
import { changesEntries, fuseEntry, fuseOpaque, whiteoutFileOf } from './fuse-markers.js';
import { SMALL_FILE, TimeSlicer } from '../util/time-slice.js';

type Attributes = ReadonlyMap<string, ReadonlyMap<string, Buffer>>;

export interface OverlayDiffInput {
  upper: string;
  /** The lower layers' directories, nearest first. */
  lowers: readonly string[];
  /**
   * The upper dir's extended attributes (see `xattrsUnder`), when the caller reads them: read
   * already, or being read (overlayfs's opaque markers are then applied after the walk, which runs
   * meanwhile; fuse-overlayfs's markers are needed during it).
   */
  xattrs?: Attributes | Promise<Attributes>;
  /** Where the mount keeps overlayfs's attributes (`overlayParts`); default `trusted.overlay.`. */
  xattrPrefix?: OverlayXattrPrefix;
  /** Who wrote the upper dir: overlayfs (default) or fuse-overlayfs. */
  format?: UpperFormat;
  /** Directories whose entries changed beyond what the upper dir shows (`DiffOptions`). */
  entriesChanged?: readonly string[];
  signal?: AbortSignal;
}

/** The changes recorded in `upper`, sorted parents first. */
export async function upperdirChanges(input: OverlayDiffInput): Promise<Change[]> {
  const fuse = input.format === 'fuse-overlayfs';
  const marker = `${input.xattrPrefix ?? 'trusted.overlay.'}opaque`;
  const reading = input.xattrs ?? xattrsUnder(input.upper, fuse ? '.' : `^${marker.replace(/\./g, '\\.')}$`);
  // overlayfs: the attributes are read while the tree is walked; a directory's change waits for them.
  const attrs: Attributes = fuse ? await reading : new Map();
  if (!fuse) Promise.resolve(reading).catch(() => undefined); // awaited after the walk
  const directories: Array<{ path: string; abs: string; lower: boolean; same: boolean; stat: Stats }> = [];
  const entriesChanged = new Set(input.entriesChanged);
  const changes: Change[] = [];
  const slicer = new TimeSlicer(input.signal);
  // Walks `rel`; true when the step changed its entries (fuse-overlayfs only, see fuse-markers.ts).
  // `inLower`: a lower layer has `rel` as a directory. When none has, nothing under it is in one
  // either (`lowerStat` would stop at `rel` in every layer), and a new tree is not looked up again
  // entry by entry (a COPY of 2,000 files into a new directory made 2,000 lookups per lower).
  // Entries are `upper + child` (child is a clean relative path): a join per entry is not free.
  const upper = path.join(input.upper, '/');
  const walk = async (rel: string, names: string[], inLower: boolean): Promise<boolean> => {
    let changed = false;
    for (const name of names) {
      await slicer.pause();
      const child = rel === '' ? name : `${rel}/${name}`;
      const abs = upper + child;
      let stat = lstatSync(abs);
      const entry = fuse
        ? fuseEntry(name, stat)
        : stat.isCharacterDevice() && stat.rdev === 0
          ? { kind: 'delete' as const, name }
          : { kind: 'entry' as const };
      if (entry.kind === 'marker') continue;
      if (entry.kind === 'delete') {
        const deleted = rel === '' ? entry.name : `${rel}/${entry.name}`;
        // fuse-overlayfs also leaves whiteouts of names only the step made (a mount stub removed
        // again): nothing below to hide, so no whiteout in the layer, as overlayfs gives none.
        if (!fuse || (inLower && lowerStat(input.lowers, deleted, fuse))) changes.push({ kind: 'delete', path: deleted });
        changed = true;
        continue;
      }
      const lower = inLower ? lowerStat(input.lowers, child, fuse) : undefined;
      const below = stat.isDirectory() ? readdirSync(abs).sort() : [];
      // fuse-overlayfs marks every directory it makes opaque; it means something only over a lower one.
      // overlayfs's opaque directories are known after the walk (below).
      const isOpaque = fuse && stat.isDirectory() && lower !== undefined && fuseOpaque(below, attrs.get(abs));
      if (stat.isDirectory()) {
        const inside = (await walk(child, below, lower?.stat.isDirectory() === true)) || entriesChanged.has(child);
        // Only copy-ups moved its time: overlayfs would have kept the lower one.
        if (fuse && !inside && !isOpaque && below.length > 0 && lower?.stat.isDirectory() && stat.mtimeMs !== lower.stat.mtimeMs) {
          utimesSync(abs, lower.stat.atime, lower.stat.mtime);
          stat = lstatSync(abs);
        }
      }
      changed ||= fuse && (isOpaque || changesEntries(stat, lower?.stat, attrs.get(abs)));
      if (!fuse && stat.isDirectory()) {
        const same = lower !== undefined && (await sameEntry(stat, abs, lower.stat, lower.path));
        directories.push({ path: child, abs, lower: lower !== undefined, same, stat });
        continue;
      }
      if (!lower) changes.push({ kind: 'add', path: child, stat, ...(isOpaque ? { opaque: true } : {}) });
      else if (isOpaque || !(await sameEntry(stat, abs, lower.stat, lower.path)))
        changes.push({ kind: 'modify', path: child, stat, ...(isOpaque ? { opaque: true } : {}) });
    }
    return changed;
  };
  await walk('', readdirSync(input.upper).sort(), true);
  if (!fuse) {
    const opaque = opaqueDirs(await reading, marker);
    for (const dir of directories) {
      const isOpaque = opaque.has(dir.abs);
      if (dir.lower && dir.same && !isOpaque) continue;
      changes.push({ kind: dir.lower ? 'modify' : 'add', path: dir.path, stat: dir.stat, ...(isOpaque ? { opaque: true } : {}) });
    }
  }
  return inPathOrder(changes);
}

function opaqueDirs(attrs: ReadonlyMap<string, ReadonlyMap<string, Buffer>>, marker: string): Set<string> {
  return new Set([...attrs].filter(([, a]) => a.get(marker)?.toString() === 'y').map(([file]) => file));
}

/**
 * The path in the nearest lower layer that has it. A whiteout ends the search (deleted: a device
 * 0/0, or in a fuse-overlayfs layer a `.wh.` file beside it), and so does a layer where a parent
 * of the path is not a directory (replaced there: nothing below shows).
 */
function lowerStat(lowers: readonly string[], rel: string, fuse: boolean): { stat: Stats; path: string } | undefined {
  const parts = rel.split('/');
  for (const lower of lowers) {
    let abs = lower;
    let found: Stats | undefined;
    for (const [i, part] of parts.entries()) {
      if (fuse && lstatSync(path.join(abs, whiteoutFileOf(part)), { throwIfNoEntry: false })) return undefined;
      abs = path.join(abs, part);
      found = lstatSync(abs, { throwIfNoEntry: false });
      if (!found) break;
      if (found.isCharacterDevice() && found.rdev === 0) return undefined;
      if (i < parts.length - 1 && !found.isDirectory()) return undefined;
    }
    if (found) return { stat: found, path: abs };
  }
  return undefined;
}

async function sameEntry(a: Stats, aPath: string, b: Stats, bPath: string): Promise<boolean> {
  if ((a.mode & 0o170000) !== (b.mode & 0o170000) || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return false;
  // A copied-up directory whose time changed (an entry made and removed again, as the runtime's mount
  // stubs are) is a change, as in BuildKit's layers; one whose time did not is only a container.
  if (a.isDirectory()) return a.mtimeMs === b.mtimeMs;
  if (a.size !== b.size || a.mtimeMs !== b.mtimeMs || a.rdev !== b.rdev) return false;
  if (a.isSymbolicLink()) return readlinkSync(aPath) === readlinkSync(bPath);
  if (a.isFile() && a.size <= SMALL_FILE) return readFileSync(aPath).equals(readFileSync(bPath));
  if (a.isFile()) return sameBytes(aPath, bPath);
  return true;
}

/** Compares two files of equal size block by block. */
async function sameBytes(a: string, b: string): Promise<boolean> {
  const [fa, fb] = await Promise.all([open(a, 'r'), open(b, 'r')]);
  try {
    const bufA = Buffer.alloc(1 << 16);
    const bufB = Buffer.alloc(1 << 16);
    for (let offset = 0; ; offset += bufA.length) {
      const [ra, rb] = await Promise.all([fa.read(bufA, 0, bufA.length, offset), fb.read(bufB, 0, bufB.length, offset)]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (!bufA.subarray(0, ra.bytesRead).equals(bufB.subarray(0, rb.bytesRead))) return false;
    }
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}
