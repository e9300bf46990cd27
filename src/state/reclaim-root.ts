/**
 * Reclaiming a state root: what every command that may mount, run containers or write blobs does
 * first (build, pull, load, prune, du), removing what killed tsbuild processes left there — runc
 * containers, mounts and scratch directories (network namespaces among them), active and orphaned
 * snapshots, the step snapshots a killed build committed but never recorded, ingest files, leases,
 * the temporary and lock files of atomic writes, and the two directories tsbuild makes in the
 * system temp dir (`util/system-temp.ts`). Everything is
 * named after its owner (`util/owner.ts`), so only what a process that is gone left is touched.
 * With nothing to reclaim it costs a handful of directory reads (docs/crash-safety.md).
 */
import path from 'node:path';
import type { CacheIndex } from '../cache/cache-index.js';
import { removeUnrecordedSteps } from '../cache/unrecorded-steps.js';
import type { LocalContentStore } from '../content/local-store.js';
import { reclaimStale } from '../runtime/reclaim.js';
import type { RuncExecutor } from '../runtime/runc.js';
import type { ManagedSnapshotter } from '../snapshot/snapshotter.js';
import { removeDeadLeases } from '../util/lease.js';
import { removeDeadSiblings } from '../util/private-sibling.js';
import { removeDeadSystemTemps } from '../util/system-temp.js';

/** What reclaiming found and removed. */
export interface ReclaimResult {
  /** runc containers (and their bundles) of dead owners. */
  containers: number;
  /** Scratch directories under `<root>/tmp` (with the mounts below them). */
  scratch: number;
  /** Active snapshots and views of dead owners. */
  snapshots: number;
  /** Snapshot directories and metadata temporary files no record names. */
  orphans: number;
  /** Step snapshots a killed build committed whose cache record it never wrote (named by its lease). */
  unrecorded: number;
  ingest: number;
  leases: number;
  /** Temporary files of atomic writes and staged lock files of dead writers. */
  temporary: number;
  /** The tool runner's and ssh forwarder's directories in the system temp dir (`util/system-temp.ts`). */
  tempDirs: number;
}

/** What one root's reclaim works with. */
export interface ReclaimParts {
  /** Undefined where the caller cannot remove containers and scratch directories (see `StateRoot.reclaim`). */
  executor: RuncExecutor | undefined;
  store: LocalContentStore;
  cache: CacheIndex;
  /** Undefined on a root where no build has chosen a snapshotter: it holds no snapshots. */
  snapshotter: () => Promise<ManagedSnapshotter | undefined>;
}

/** The number of things a reclaim removed. */
export function reclaimedCount(result: ReclaimResult): number {
  return (Object.values(result) as number[]).reduce((sum, n) => sum + n, 0);
}

const WORDS: Record<keyof ReclaimResult, [string, string]> = {
  containers: ['container', 'containers'],
  scratch: ['scratch directory', 'scratch directories'],
  snapshots: ['active snapshot', 'active snapshots'],
  orphans: ['orphaned snapshot entry', 'orphaned snapshot entries'],
  unrecorded: ['unrecorded step snapshot', 'unrecorded step snapshots'],
  ingest: ['ingest file', 'ingest files'],
  leases: ['lease', 'leases'],
  temporary: ['temporary file', 'temporary files'],
  tempDirs: ['temporary directory', 'temporary directories'],
};

/** One line saying what a reclaim removed (`reclaimed what stopped tsbuild processes left: 1 container, …`). */
export function describeReclaimed(result: ReclaimResult): string {
  const parts = (Object.keys(WORDS) as Array<keyof ReclaimResult>)
    .filter((k) => result[k] > 0)
    .map((k) => `${result[k]} ${WORDS[k][result[k] === 1 ? 0 : 1]}`);
  return `reclaimed what stopped tsbuild processes left: ${parts.join(', ')}`;
}

/** Reclaims running in this process, per root: callers that overlap (two builds of a library user) share one. */
const running = new Map<string, Promise<ReclaimResult>>();

/** Removes what processes that no longer run left in `root`; never touches a live one's. */
export function reclaimRoot(root: string, parts: ReclaimParts): Promise<ReclaimResult> {
  let current = running.get(root);
  if (!current) {
    current = reclaim(root, parts).finally(() => running.delete(root));
    running.set(root, current);
  }
  return current;
}

async function reclaim(root: string, parts: ReclaimParts): Promise<ReclaimResult> {
  // Containers and mounts first: a dead build's overlay, still mounted, holds its snapshot's dirs.
  const { containers, scratch } = parts.executor ? await reclaimStale(root, parts.executor) : { containers: [], scratch: [] };
  const snapshotter = await parts.snapshotter();
  const snapshots = (await snapshotter?.removeStale()) ?? [];
  const orphans = (await snapshotter?.removeOrphans()) ?? 0;
  const ingest = await parts.store.cleanIngest();
  // A dead lease names the step snapshots its build committed; those no record names go with it
  // (after the stale active snapshots, which may be built on them). Without a snapshotter the
  // lease stays for a command that has one.
  let unrecorded = 0;
  const leases = await removeDeadLeases(root, async (pending) => {
    if (!snapshotter) return false;
    unrecorded += await removeUnrecordedSteps(root, snapshotter, parts.cache, pending);
    return true;
  });
  // Where files are replaced atomically or locked: the root's index files, checksum caches, cache
  // records and cache-mount locks (the snapshotter's own directory is its `removeOrphans`'s).
  let temporary = 0;
  for (const dir of [root, ...['checksums', 'cache', 'cache-index', path.join('cache-index', 'steps')].map((d) => path.join(root, d))])
    temporary += await removeDeadSiblings(dir);
  // Outside the root, shared by every root: whichever command runs next reclaims them.
  const tempDirs = await removeDeadSystemTemps();
  return {
    containers: containers.length,
    scratch: scratch.length,
    snapshots: snapshots.length,
    orphans,
    unrecorded,
    ingest,
    leases,
    temporary,
    tempDirs,
  };
}
