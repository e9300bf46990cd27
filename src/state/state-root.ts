/**
 * The composition root: one state root, opened once per command, holding the stores every verb
 * works with — content, image index, cache index, blob sources — and, on first use, the snapshotter
 * (a test mount picks overlay or the copying fallback) and the executor. `reclaim` removes what
 * killed tsbuild processes left; `lease` protects what a running command uses from a concurrent
 * prune (`util/lease.ts`).
 *
 * Where the root is: `--root` / `$TSBUILD_ROOT`, else `/var/lib/tsbuild` for root and
 * `$XDG_DATA_HOME/tsbuild` (`~/.local/share/tsbuild`) for anyone else.
 */
import os from 'node:os';
import path from 'node:path';
import { CacheIndex } from '../cache/cache-index.js';
import { LocalContentStore } from '../content/local-store.js';
import { ImageIndex } from '../images/image-index.js';
import { BlobSources } from '../registry/blob-sources.js';
import { reclaimStale } from '../runtime/reclaim.js';
import { RuncExecutor } from '../runtime/runc.js';
import { selectSnapshotter } from '../snapshot/select.js';
import type { ManagedSnapshotter } from '../snapshot/snapshotter.js';
import { Lease, liveLeases, withGcLock, type LiveLeases } from '../util/lease.js';
import { prepareStateRoot } from '../util/make-dirs.js';
import { isHostRoot } from '../util/user-namespace.js';

/** The state root's path: the one given, else the environment's, else the user's default. */
export function stateRootPath(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return path.resolve(explicit);
  if (env.TSBUILD_ROOT) return path.resolve(env.TSBUILD_ROOT);
  // Root of a user namespace (a rootless build) is still the unprivileged user.
  if (isHostRoot()) return '/var/lib/tsbuild';
  return path.join(env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'tsbuild');
}

/** What reclaiming found and removed. */
export interface ReclaimResult {
  containers: number;
  scratch: number;
  snapshots: number;
  ingest: number;
}

export class StateRoot {
  readonly store: LocalContentStore;
  readonly images: ImageIndex;
  readonly cache: CacheIndex;
  readonly blobSources: BlobSources;
  readonly executor: RuncExecutor;
  private snapshotterReady: Promise<ManagedSnapshotter> | undefined;

  private constructor(readonly path: string) {
    this.store = new LocalContentStore(path);
    this.images = new ImageIndex(path);
    this.cache = new CacheIndex(path);
    this.blobSources = new BlobSources(path);
    this.executor = new RuncExecutor(path);
  }

  /**
   * The state root at `stateRootPath(root)` for reading only: nothing is created (`--call=check`
   * looks for stored base images without making a root).
   */
  static existing(root?: string): StateRoot {
    return new StateRoot(stateRootPath(root));
  }

  /** Opens (and creates, failing in one line if it cannot) the state root at `stateRootPath(root)`. */
  static async open(root?: string): Promise<StateRoot> {
    const dir = stateRootPath(root);
    await prepareStateRoot(dir);
    return new StateRoot(dir);
  }

  /** The snapshotter of this root (chosen once; `notice` hears about a fallback). */
  snapshotter(notice?: (message: string) => void): Promise<ManagedSnapshotter> {
    this.snapshotterReady ??= selectSnapshotter(this.path, notice);
    return this.snapshotterReady;
  }

  /** Removes what processes that no longer run left in the root; never touches a live one's. */
  async reclaim(): Promise<ReclaimResult> {
    // Containers and mounts first: a dead build's overlay, still mounted, holds its snapshot's dirs.
    const { containers, scratch } = await reclaimStale(this.path, this.executor);
    const snapshots = await (await this.snapshotter()).removeStale();
    const ingest = await this.store.cleanIngest();
    return { containers: containers.length, scratch: scratch.length, snapshots: snapshots.length, ingest };
  }

  /** A new lease on this root, for the caller to close. */
  lease(): Promise<Lease> {
    return Lease.take(this.path);
  }

  /** Runs `fn` with the root's GC lock held and the live leases read (prune's mark and sweep). */
  withGcLock<T>(fn: (leases: LiveLeases) => Promise<T>): Promise<T> {
    return withGcLock(this.path, async () => fn(await liveLeases(this.path)));
  }
}
