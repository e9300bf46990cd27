/**
 * The frame every step that changes files runs in: a fresh active snapshot on the parent and a
 * scratch directory in the state root; the snapshot is removed if the work fails, the scratch
 * directory always. Keys and scratch names carry the owner tag (`util/owner.ts`), so a later
 * tsbuild can reclaim what a killed one left (`removeStale`, `runtime/reclaim.ts`).
 */
import { randomBytes } from 'node:crypto';
import { removeTree } from '../runtime/mount.js';
import type { LayeredSnapshotter } from '../snapshot/layered.js';
import type { Mount } from '../snapshot/snapshotter.js';
import { ownerTag } from '../util/owner.js';
import { makeScratch } from '../util/scratch.js';

/** What the work gets: the active key, its mounts, and a private scratch directory. */
export interface ActiveSnapshot {
  key: string;
  mounts: Mount[];
  scratch: string;
}

/** Where the frame lives: the snapshotter, and the state root whose `tmp/` holds scratch dirs. */
export interface SnapshotFrame {
  snapshotter: LayeredSnapshotter;
  root: string;
}

export async function withActiveSnapshot<T>(
  frame: SnapshotFrame,
  parent: string | undefined,
  kind: string,
  work: (active: ActiveSnapshot) => Promise<T>,
): Promise<T> {
  const key = `${kind}-${ownerTag()}-${randomBytes(8).toString('hex')}`;
  const scratch = await makeScratch(frame.root, kind);
  try {
    const mounts = await frame.snapshotter.prepare(key, parent);
    return await work({ key, mounts, scratch });
  } catch (err) {
    // The work's error is the one to report; a snapshot that cannot go now is named after this
    // process and removed by the next tsbuild's `removeStale`.
    await frame.snapshotter.remove(key).catch(() => undefined);
    throw err;
  } finally {
    await removeTree(scratch);
  }
}
