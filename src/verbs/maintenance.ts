/**
 * `du` and `prune` over a state root (façade over `cache/gc.ts`). Prune first reclaims what killed
 * tsbuild processes left, then marks and sweeps under the root's GC lock, keeping what live builds
 * lease (`util/lease.ts`).
 */
import { diskUsage, prune, type PruneResult, type Usage } from '../cache/gc.js';
import { StateRoot } from '../state/state-root.js';
import type { CommonOptions } from './options.js';

/** What the state root holds. */
export async function usage(options: Pick<CommonOptions, 'root'> = {}): Promise<Usage> {
  const root = await StateRoot.open(options.root);
  return diskUsage(root.store, await root.snapshotter(), root.cache);
}

/** Removes what no image or cache record needs; `all` also removes the build cache. */
export async function pruneState(options: Pick<CommonOptions, 'root'> & { all?: boolean } = {}): Promise<PruneResult> {
  const root = await StateRoot.open(options.root);
  await root.reclaim();
  return root.withGcLock(async (leases) => {
    const images = await root.images.list();
    const manifests = images.flatMap((i) => [i.manifest.digest, ...(i.target.digest !== i.manifest.digest ? [i.target.digest] : [])]);
    return prune(root.store, await root.snapshotter(), root.cache, manifests, { all: options.all ?? false, leases });
  });
}
