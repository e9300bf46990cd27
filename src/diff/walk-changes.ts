/**
 * Changes between two whole trees by walking both (the slow, obvious way): the oracle the overlay
 * fast path is tested against, and the change finder of the copying snapshotter.
 */
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { Stats } from 'node:fs';
import { inPathOrder, type Change } from './changes.js';

/** The changes that turn `lower` into `upper`, sorted parents first. */
export async function doubleWalkChanges(lower: string, upper: string): Promise<Change[]> {
  const changes: Change[] = [];
  // Everything below a new directory is new: the entries' types come with the listing (Node
  // stats the few a file system leaves untyped), not from a stat each.
  const addAll = async (rel: string): Promise<void> => {
    const entries = await readdir(path.join(upper, rel), { withFileTypes: true });
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      changes.push({ kind: 'add', path: child });
      if (entry.isDirectory()) await addAll(child);
    }
  };
  const walk = async (rel: string): Promise<void> => {
    const lowerNames = new Set(await readdir(path.join(lower, rel)));
    const upperNames = new Set(await readdir(path.join(upper, rel)));
    for (const name of [...new Set([...lowerNames, ...upperNames])].sort()) {
      const child = rel === '' ? name : `${rel}/${name}`;
      if (!upperNames.has(name)) {
        changes.push({ kind: 'delete', path: child });
        continue;
      }
      const u = await lstat(path.join(upper, child));
      if (!lowerNames.has(name)) {
        changes.push({ kind: 'add', path: child });
        if (u.isDirectory()) await addAll(child);
        continue;
      }
      const l = await lstat(path.join(lower, child));
      if (u.isDirectory() !== l.isDirectory()) {
        // A type change: the new entry replaces the old one wholesale.
        changes.push({ kind: 'modify', path: child });
        if (u.isDirectory()) await addAll(child);
        continue;
      }
      if (!(await same(l, path.join(lower, child), u, path.join(upper, child)))) changes.push({ kind: 'modify', path: child });
      if (u.isDirectory()) await walk(child);
    }
  };
  await walk('');
  return inPathOrder(changes);
}

async function same(a: Stats, aPath: string, b: Stats, bPath: string): Promise<boolean> {
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return false;
  if (a.isDirectory()) return a.mtimeMs === b.mtimeMs;
  if (a.size !== b.size || a.mtimeMs !== b.mtimeMs || a.rdev !== b.rdev) return false;
  return a.isSymbolicLink() ? (await readlink(aPath)) === (await readlink(bPath)) : true;
}
