/**
 * `du` and `prune` over a state root (façade over `cache/gc.ts`), and `reclaimRoot`: what every
 * command that may mount, run containers or write blobs does first, removing what killed tsbuild
 * processes left there (containers, mounts, scratch directories, active and orphaned snapshots,
 * ingest files, leases, temporary files). Prune marks and sweeps under the root's GC lock, keeping
 * what live builds lease (`util/lease.ts`).
 */
import path from 'node:path';
import { CacheIndex } from './cache/cache-index.js';
import { diskUsage, prune, type PruneResult, type Usage } from './cache/gc.js';
import { LocalContentStore } from './content/local-store.js';
import { ImageIndex } from './images/image-index.js';
import { reclaimStale } from './runtime/reclaim.js';
import { RuncRuntime } from './runtime/runc.js';
import { stateRoot } from './settings.js';
import type { LayeredSnapshotter } from './snapshot/layered.js';
import { recordedSnapshotter, selectSnapshotter } from './snapshot/select.js';
import { liveLeases, removeDeadLeases, withGcLock } from './util/lease.js';
import { removeDeadSiblings } from './util/private-sibling.js';
import type { Warn } from './util/set-aside.js';
import { prepareStateRoot } from './util/make-dirs.js';

/** What reclaiming found and removed. */
export interface ReclaimResult {
  /** runc containers (and their bundles) of dead owners. */
  containers: number;
  /** Scratch directories under `<root>/tmp` (with the mounts below them). */
  scratch: number;
  /** Active snapshots and views of dead owners. */
  snapshots: number;
  /** Snapshot directories no record names. */
  orphans: number;
  ingest: number;
  leases: number;
  /** Temporary files of atomic writes and staged lock files of dead writers. */
  temporary: number;
}

/** The number of things a reclaim removed. */
export function reclaimedCount(result: ReclaimResult): number {
  return (Object.values(result) as number[]).reduce((sum, n) => sum + n, 0);
}

/** One line saying what a reclaim removed (`reclaimed what stopped tsbuild processes left: 1 container, …`). */
export function describeReclaimed(result: ReclaimResult): string {
  const words: Record<keyof ReclaimResult, [string, string]> = {
    containers: ['container', 'containers'],
    scratch: ['scratch directory', 'scratch directories'],
    snapshots: ['active snapshot', 'active snapshots'],
    orphans: ['orphaned snapshot directory', 'orphaned snapshot directories'],
    ingest: ['ingest file', 'ingest files'],
    leases: ['lease', 'leases'],
    temporary: ['temporary file', 'temporary files'],
  };
  const parts = (Object.keys(words) as Array<keyof ReclaimResult>)
    .filter((k) => result[k] > 0)
    .map((k) => `${result[k]} ${words[k][result[k] === 1 ? 0 : 1]}`);
  return `reclaimed what stopped tsbuild processes left: ${parts.join(', ')}`;
}

/** Reclaims running in this process, per root: callers that overlap (a build and its pulls) share one. */
const running = new Map<string, Promise<ReclaimResult>>();

/**
 * Removes what processes that no longer run left in the root; never touches a live one's. Run by
 * every command that may mount, run containers or write blobs (build, pull, load, prune, du).
 * With nothing to reclaim it costs a handful of directory reads. `snapshotter`: the one the caller
 * has chosen; otherwise the one the root records, if any. `warn`: told of damaged state files.
 */
export function reclaimRoot(root: string, options: { snapshotter?: LayeredSnapshotter; warn?: Warn } = {}): Promise<ReclaimResult> {
  let current = running.get(root);
  if (!current) {
    current = reclaim(root, options.snapshotter, options.warn).finally(() => running.delete(root));
    running.set(root, current);
  }
  return current;
}

async function reclaim(root: string, chosen: LayeredSnapshotter | undefined, warn: Warn | undefined): Promise<ReclaimResult> {
  // Containers and mounts first: a dead build's overlay, still mounted, holds its snapshot's dirs.
  const { containers, scratch } = await reclaimStale(root, new RuncRuntime(root));
  const snapshotter = chosen ?? (await recordedSnapshotter(root, warn));
  const snapshots = (await snapshotter?.removeStale()) ?? [];
  const orphans = (await snapshotter?.removeOrphans()) ?? [];
  const ingest = await new LocalContentStore(root).cleanIngest();
  const leases = await removeDeadLeases(root);
  // Where files are replaced atomically or locked: the root's index files, snapshot metadata,
  // checksum caches, cache records and cache-mount locks.
  const dirs = [root, snapshotter?.dir, ...['checksums', 'cache', 'cache-index', path.join('cache-index', 'steps')].map((d) => path.join(root, d))];
  let temporary = 0;
  for (const dir of dirs) if (dir !== undefined) temporary += await removeDeadSiblings(dir);
  return {
    containers: containers.length,
    scratch: scratch.length,
    snapshots: snapshots.length,
    orphans: orphans.length,
    ingest,
    leases,
    temporary,
  };
}

/** What `pruneState` did: the prune, and what it reclaimed first. */
export interface PruneStateResult extends PruneResult {
  reclaimed: ReclaimResult;
}

export async function usage(root?: string, options: { warn?: Warn } = {}): Promise<Usage> {
  const dir = stateRoot(root);
  await prepareStateRoot(dir);
  // What dead processes left is not usage: it goes first, so the numbers are what the root keeps.
  const snapshotter = await selectSnapshotter(dir, undefined, options.warn);
  await reclaimRoot(dir, { snapshotter, ...(options.warn ? { warn: options.warn } : {}) });
  return diskUsage(new LocalContentStore(dir), snapshotter, new CacheIndex(dir, options.warn));
}

export async function pruneState(options: { root?: string; all?: boolean; warn?: Warn } = {}): Promise<PruneStateResult> {
  const dir = stateRoot(options.root);
  await prepareStateRoot(dir);
  const store = new LocalContentStore(dir);
  const snapshotter = await selectSnapshotter(dir, undefined, options.warn);
  const reclaimed = await reclaimRoot(dir, { snapshotter, ...(options.warn ? { warn: options.warn } : {}) });
  const pruned = await withGcLock(dir, async () => {
    const index = new ImageIndex(dir, options.warn);
    const images = await index.list();
    const manifests = images.flatMap((i) => [i.manifest.digest, ...(i.target.digest !== i.manifest.digest ? [i.target.digest] : [])]);
    const leases = await liveLeases(dir);
    return prune(store, snapshotter, new CacheIndex(dir, options.warn), manifests, {
      all: options.all ?? false,
      leases,
      // What a damaged image index named stays until the user removes the set-aside file.
      keep: await index.setAsideDigests(),
    });
  });
  return { ...pruned, reclaimed };
}
