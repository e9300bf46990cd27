/**
 * `du` and `prune` over a state root (façade over `cache/gc.ts`). Both first reclaim what killed
 * tsbuild processes left (it is not usage, and it is garbage), then prune marks and sweeps under
 * the root's GC lock, keeping what live builds lease (`util/lease.ts`) and every blob a set-aside
 * (damaged) image index names, until the user removes that file.
 */
import { diskUsage, prune, type PruneResult, type Usage } from '../cache/gc.js';
import type { ReclaimResult } from '../state/reclaim-root.js';
import { StateRoot } from '../state/state-root.js';
import type { CommonOptions } from './options.js';

/** What `pruneState` did: the prune, and what it reclaimed first. */
export interface PruneStateResult extends PruneResult {
  reclaimed: ReclaimResult;
}

/** What the state root holds. */
export async function usage(options: Pick<CommonOptions, 'root' | 'progress'> = {}): Promise<Usage> {
  const root = await StateRoot.open(options.root, options.progress);
  const snapshotter = await root.snapshotter();
  await root.reclaim();
  return diskUsage(root.store, snapshotter, root.cache);
}

/** Removes what no image or cache record needs; `all` also removes the build cache. */
export async function pruneState(options: Pick<CommonOptions, 'root' | 'progress'> & { all?: boolean } = {}): Promise<PruneStateResult> {
  const root = await StateRoot.open(options.root, options.progress);
  const snapshotter = await root.snapshotter();
  const reclaimed = await root.reclaim();
  const pruned = await root.withGcLock(async (leases) => {
    const images = await root.images.list();
    const manifests = images.flatMap((i) => [i.manifest.digest, ...(i.target.digest !== i.manifest.digest ? [i.target.digest] : [])]);
    return prune(root.store, snapshotter, root.cache, manifests, {
      all: options.all ?? false,
      leases,
      keep: await root.images.setAsideDigests(),
    });
  });
  return { ...pruned, reclaimed };
}
