/**
 * Changes from an overlay upper directory, without walking the lower layers (the fast path):
 * - a character device 0/0 is a deletion;
 * - a directory with `trusted.overlay.opaque=y` hides the lower directory's contents;
 * - anything else is an add, or a modify when a lower layer has the path — unless it is a copy-up
 *   that changed nothing (same type, mode, owner, size, mtime, link target and bytes), which is
 *   dropped (BuildKit #2480).
 * A path is looked up in the lower layers one component at a time, never through a symlink: a lower
 * layer where a parent is a file or a symlink (the upper layer replaced it with a directory) does
 * not have the path, and the lookup never reads outside the layer directories.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { comparePaths, type Change } from './changes.js';
import { xattrsUnder } from '../util/native.js';
import type { OverlayXattrPrefix } from '../snapshot/mount-data.js';
import { SMALL_FILE, TimeSlicer } from '../util/time-slice.js';

export interface OverlayDiffInput {
  upper: string;
  /** The lower layers' directories, nearest first. */
  lowers: readonly string[];
  /** The upper dir's extended attributes, when the caller has read them already (see `xattrsUnder`). */
  xattrs?: ReadonlyMap<string, ReadonlyMap<string, Buffer>>;
  /** Where the mount keeps overlayfs's attributes (`overlayParts`); default `trusted.overlay.`. */
  xattrPrefix?: OverlayXattrPrefix;
  signal?: AbortSignal;
}

/** The changes recorded in `upper`, sorted parents first. */
export async function upperdirChanges(input: OverlayDiffInput): Promise<Change[]> {
  const marker = `${input.xattrPrefix ?? 'trusted.overlay.'}opaque`;
  const opaque = opaqueDirs(input.xattrs ?? (await xattrsUnder(input.upper, `^${marker.replace(/\./g, '\\.')}$`)), marker);
  const changes: Change[] = [];
  const slicer = new TimeSlicer(input.signal);
  const walk = async (rel: string): Promise<void> => {
    for (const name of readdirSync(path.join(input.upper, rel)).sort()) {
      await slicer.pause();
      const child = rel === '' ? name : `${rel}/${name}`;
      const abs = path.join(input.upper, child);
      const stat = lstatSync(abs);
      if (stat.isCharacterDevice() && stat.rdev === 0) {
        changes.push({ kind: 'delete', path: child });
        continue;
      }
      const lower = lowerStat(input.lowers, child);
      const isOpaque = stat.isDirectory() && opaque.has(abs);
      if (!lower) changes.push({ kind: 'add', path: child, ...(isOpaque ? { opaque: true } : {}) });
      else if (isOpaque || !(await sameEntry(stat, abs, lower.stat, lower.path)))
        changes.push({ kind: 'modify', path: child, ...(isOpaque ? { opaque: true } : {}) });
      if (stat.isDirectory()) await walk(child);
    }
  };
  await walk('');
  return changes.sort((a, b) => comparePaths(a.path, b.path));
}

function opaqueDirs(attrs: ReadonlyMap<string, ReadonlyMap<string, Buffer>>, marker: string): Set<string> {
  return new Set([...attrs].filter(([, a]) => a.get(marker)?.toString() === 'y').map(([file]) => file));
}

/**
 * The path in the nearest lower layer that has it. A whiteout ends the search (deleted), and so does
 * a layer where a parent of the path is not a directory (replaced there: nothing below shows).
 */
function lowerStat(lowers: readonly string[], rel: string): { stat: Stats; path: string } | undefined {
  const parts = rel.split('/');
  for (const lower of lowers) {
    let abs = lower;
    let found: Stats | undefined;
    for (const [i, part] of parts.entries()) {
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
