/**
 * `du` and `prune` over a state root (façade over `cache/gc.ts` and `cache/cache-mounts.ts`). Both
 * first reclaim what killed tsbuild processes left (it is not usage, and it is garbage), then prune
 * marks and sweeps under the root's GC lock, keeping what live builds lease (`util/lease.ts`) and
 * every blob a set-aside (damaged) image index names, until the user removes that file. RUN cache
 * mounts go with `all` (or only they, with `only: 'exec.cachemount'`), and only while no build
 * runs: a RUN holds no lease on them.
 */
import { listCacheMounts, removeCacheMounts, type CacheMountUsage } from '../cache/cache-mounts.js';
import { diskUsage, prune, type PruneResult, type Usage } from '../cache/gc.js';
import { FileMirror } from '../fileops/file-mirror.js';
import type { ReclaimResult } from '../state/reclaim-root.js';
import { StateRoot } from '../state/state-root.js';
import type { CommonOptions } from './options.js';

export type { CacheMountUsage } from '../cache/cache-mounts.js';

/**
 * What `pruneState` did: the prune, cache mounts included, what running builds kept, and what it
 * reclaimed first. `contextFiles`: copies of context files no snapshot links any more (`fileops/file-mirror.ts`).
 */
export type PruneStateResult = PruneResult & { cacheMounts: number; skippedCacheMounts: number; contextFiles: number; reclaimed: ReclaimResult };

/** What the state root holds, RUN cache mounts included. */
export async function usage(options: Pick<CommonOptions, 'root' | 'progress'> = {}): Promise<Usage & { cacheMounts: CacheMountUsage[] }> {
  const root = await StateRoot.open(options.root, options.progress);
  const snapshotter = await root.snapshotter();
  await root.reclaim();
  return { ...(await diskUsage(root.store, snapshotter, root.cache)), cacheMounts: await listCacheMounts(root.path) };
}

/**
 * Removes what no image or cache record needs; `all` also removes the build cache and the RUN
 * cache mounts; `only: 'exec.cachemount'` removes only the cache mounts (buildx's filter).
 */
export async function pruneState(
  options: Pick<CommonOptions, 'root' | 'progress'> & { all?: boolean; only?: 'exec.cachemount' } = {},
): Promise<PruneStateResult> {
  const root = await StateRoot.open(options.root, options.progress);
  const snapshotter = await root.snapshotter();
  const reclaimed = await root.reclaim();
  const pruned = await root.withGcLock(async (leases) => {
    const images = await root.images.list();
    const manifests = images.flatMap((i) => [i.manifest.digest, ...(i.target.digest !== i.manifest.digest ? [i.target.digest] : [])]);
    const none: PruneResult = { cacheRecords: 0, snapshots: 0, blobs: 0, bytes: 0, skipped: { cacheRecords: 0, snapshots: 0, blobs: 0 }, corrupt: 0 };
    const pruned = options.only
      ? none
      : await prune(root.store, snapshotter, root.cache, manifests, {
          all: options.all ?? false,
          leases,
          keep: await root.images.setAsideDigests(),
        });
    // After the snapshots: what they linked and no longer do goes with them.
    const files = options.only ? { entries: 0, bytes: 0 } : await FileMirror.of(root.path).prune();
    const result = { ...pruned, bytes: pruned.bytes + files.bytes, contextFiles: files.entries };
    if (!options.all && !options.only) return { ...result, cacheMounts: 0, skippedCacheMounts: 0 };
    const mounts = await listCacheMounts(root.path);
    // A running build may have any of them mounted: they stay until no build runs.
    if (leases.since !== undefined) return { ...result, cacheMounts: 0, skippedCacheMounts: mounts.length };
    const bytes = await removeCacheMounts(root.path, mounts);
    return { ...result, bytes: result.bytes + bytes, cacheMounts: mounts.length, skippedCacheMounts: 0 };
  });
  return { ...pruned, reclaimed };
}
