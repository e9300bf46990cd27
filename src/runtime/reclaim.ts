/**
 * Reclaiming what killed tsbuild processes left in a state root: their runc containers (killed
 * and deleted), then their scratch directories under `<root>/tmp` (whatever is mounted below them
 * unmounted first, deepest first, so removing a directory never deletes the files of a snapshot
 * mounted there). Only names whose owner tag (`util/owner.ts`) names a process that is gone are
 * touched: what a live build holds is never reclaimed. The snapshots and ingest files of dead
 * owners are the snapshotter's and the content store's to remove (`removeStale`, `cleanIngest`).
 */
import path from 'node:path';
import { ownerAlive, ownerIn } from '../util/owner.js';
import { scratchRoot } from '../util/scratch.js';
import { rm } from 'node:fs/promises';
import { mountsUnder, removeTree } from './mount.js';
import type { RuncExecutor } from './runc.js';
import { namesIn } from '../util/absent.js';

/** What was reclaimed. */
export interface Reclaimed {
  /** runc container ids deleted. */
  containers: string[];
  /** Scratch directories removed (names under `<root>/tmp`). */
  scratch: string[];
}

export async function reclaimStale(root: string, runtime: RuncExecutor): Promise<Reclaimed> {
  const containers = await runtime.cleanupStale();
  const base = scratchRoot(root);
  const scratch: string[] = [];
  // The mount table is read once: most stale directories have nothing mounted below them.
  const mounted = await mountsUnder(base);
  for (const name of await namesIn(base)) {
    const owner = ownerIn(name);
    if (owner === undefined || ownerAlive(owner)) continue;
    const dir = path.join(base, name);
    const hasMounts = mounted.some((point) => point === dir || point.startsWith(`${dir}/`));
    // A mount that cannot be removed now stays, with its directory, for the next run to try again.
    const removed = await (hasMounts ? removeTree(dir) : rm(dir, { recursive: true, force: true })).then(
      () => true,
      () => false,
    );
    if (removed) scratch.push(name);
  }
  return { containers, scratch };
}
