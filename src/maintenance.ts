/**
 * `du` and `prune` over a state root (façade over `cache/gc.ts`), and `reclaimRoot`: what every
 * command that works in the root does first, removing what killed tsbuild processes left there
 * (containers, mounts, scratch directories, active snapshots, ingest files). Prune marks and
 * sweeps under the root's GC lock, keeping what live builds lease (`util/lease.ts`).
 */
import { CacheIndex } from './cache/cache-index.js';
import { diskUsage, prune, type PruneResult, type Usage } from './cache/gc.js';
import { LocalContentStore } from './content/local-store.js';
import { ImageIndex } from './images/image-index.js';
import { reclaimStale } from './runtime/reclaim.js';
import { RuncExecutor } from './runtime/runc.js';
import { stateRoot } from './settings.js';
import type { ManagedSnapshotter } from './snapshot/snapshotter.js';
import { selectSnapshotter } from './snapshot/select.js';
import { liveLeases, withGcLock } from './util/lease.js';
import { prepareStateRoot } from './util/make-dirs.js';

/** What reclaiming found and removed. */
export interface ReclaimResult {
  containers: number;
  scratch: number;
  snapshots: number;
  ingest: number;
}

/** Removes what processes that no longer run left in the root; never touches a live one's. */
export async function reclaimRoot(root: string, snapshotter: ManagedSnapshotter, store: LocalContentStore): Promise<ReclaimResult> {
  // Containers and mounts first: a dead build's overlay, still mounted, holds its snapshot's dirs.
  const { containers, scratch } = await reclaimStale(root, new RuncExecutor(root));
  const snapshots = await snapshotter.removeStale();
  const ingest = await store.cleanIngest();
  return { containers: containers.length, scratch: scratch.length, snapshots: snapshots.length, ingest };
}

export async function usage(root?: string): Promise<Usage> {
  const dir = stateRoot(root);
  await prepareStateRoot(dir);
  return diskUsage(new LocalContentStore(dir), await selectSnapshotter(dir), new CacheIndex(dir));
}

export async function pruneState(options: { root?: string; all?: boolean } = {}): Promise<PruneResult> {
  const dir = stateRoot(options.root);
  await prepareStateRoot(dir);
  const store = new LocalContentStore(dir);
  const snapshotter = await selectSnapshotter(dir);
  await reclaimRoot(dir, snapshotter, store);
  return withGcLock(dir, async () => {
    const images = await new ImageIndex(dir).list();
    const manifests = images.flatMap((i) => [i.manifest.digest, ...(i.target.digest !== i.manifest.digest ? [i.target.digest] : [])]);
    const leases = await liveLeases(dir);
    return prune(store, snapshotter, new CacheIndex(dir), manifests, { all: options.all ?? false, leases });
  });
}
