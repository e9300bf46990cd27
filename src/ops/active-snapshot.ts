/**
 * The frame every step that changes files runs in: a fresh active snapshot on the parent and a
 * scratch directory in the state root; the snapshot is removed if the work fails, the scratch
 * directory always. The parent's read-only mounts (what a differ compares with) are made on first
 * ask and removed with the frame. Keys and scratch names carry the owner tag (`util/owner.ts`), so a
 * later tsbuild can reclaim what a killed one left (`removeStale`, `runtime/reclaim.ts`).
 */
import { randomBytes } from 'node:crypto';
import type { Differ } from '../diff/differ.js';
import { removeTree } from '../runtime/mount.js';
import type { Mount, Snapshotter } from '../snapshot/snapshotter.js';
import { ownerTag } from '../util/owner.js';
import { makeScratch } from '../util/scratch.js';

/** What the work gets: the active key, its mounts, a private scratch directory, the parent's mounts. */
export interface ActiveSnapshot {
  key: string;
  mounts: Mount[];
  scratch: string;
  /** The parent's mounts, read-only (none without a parent). */
  parentMounts: () => Promise<Mount[]>;
}

/** Where the frame lives: the snapshotter, and the state root whose `tmp/` holds scratch dirs. */
export interface SnapshotFrame {
  snapshotter: Snapshotter;
  root: string;
}

export async function withActiveSnapshot<T>(
  frame: SnapshotFrame,
  parent: string | undefined,
  kind: string,
  work: (active: ActiveSnapshot) => Promise<T>,
): Promise<T> {
  const key = `${kind}-${ownerTag()}-${randomBytes(8).toString('hex')}`;
  const viewKey = `view-${ownerTag()}-${randomBytes(8).toString('hex')}`;
  let view: Promise<Mount[]> | undefined;
  const parentMounts = (): Promise<Mount[]> => {
    view ??= parent === undefined ? Promise.resolve([]) : frame.snapshotter.view(viewKey, parent);
    return view;
  };
  const scratch = await makeScratch(frame.root, kind);
  try {
    const mounts = await frame.snapshotter.prepare(key, parent);
    return await work({ key, mounts, scratch, parentMounts });
  } catch (err) {
    // The work's error is the one to report; a snapshot that cannot go now is named after this
    // process and removed by the next tsbuild's `removeStale`.
    await frame.snapshotter.remove(key).catch(() => undefined);
    throw err;
  } finally {
    if (view && parent !== undefined) {
      await view.then(
        () => frame.snapshotter.remove(viewKey),
        () => undefined, // no view was made
      );
    }
    await removeTree(scratch);
  }
}

/**
 * Commits the active snapshot `key` as `name` and writes its layer with `layer`. Where the differ
 * only reads the mounts, the commit comes first and `committed` says so (the next step may start on
 * the snapshot while the layer is written); otherwise the layer is written first, as before. The
 * layer is given the signal that stops it: `layerSignal` where the caller has one (after the
 * commit, only the build's own), else `signal`.
 *
 * `unmounted`: the snapshot's mount on its way out (a RUN's rootfs). Nothing writes the snapshot
 * any more, so a differ that only reads starts on the layer at once; the commit waits for the
 * unmount (a mounted upper dir is never another mount's lower dir).
 */
export async function commitAndDiff<T>(
  frame: { snapshotter: Snapshotter; differ: Differ; signal?: AbortSignal; layerSignal?: AbortSignal },
  active: { key: string; mounts: Mount[]; unmounted?: Promise<void> },
  name: string,
  committed: () => void,
  layer: (signal: { signal?: AbortSignal }) => Promise<T>,
): Promise<T> {
  const stop = frame.layerSignal ?? frame.signal;
  const signal = stop ? { signal: stop } : {};
  if (!frame.differ.readsOnly(active.mounts)) {
    await active.unmounted;
    const result = await layer(signal);
    await frame.snapshotter.commit(name, active.key);
    committed();
    return result;
  }
  const writing = layer(signal);
  writing.catch(() => undefined); // returned below, or awaited before a failed unmount or commit is thrown
  try {
    await active.unmounted;
    await frame.snapshotter.commit(name, active.key);
  } catch (err) {
    // The snapshot is removed after this: not while the layer still reads it. The unmount's or the
    // commit's error is the one to report.
    await writing.catch(() => undefined);
    throw err;
  }
  committed();
  return writing;
}
