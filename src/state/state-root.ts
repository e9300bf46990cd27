/**
 * The composition root: one state root, opened once per command, holding the stores every verb
 * works with — content, image index, cache index, blob sources — the executor, the differ and
 * applier over its content store, and, on first use, the snapshotter (a test mount picks overlay
 * or the copying fallback). Callers take them from here, never build their own. `reclaim`
 * removes what killed tsbuild processes left (`reclaim-root.ts`); `lease` protects what a running
 * command uses from a concurrent prune (`util/lease.ts`). A state file found damaged (JSON cut short, a shape
 * tsbuild never writes) is set aside with a warning on the command's progress, never a crash
 * (`util/set-aside.ts`).
 *
 * Where the root is: `--root` / `$TSBUILD_ROOT`, else `/var/lib/tsbuild` for root and
 * `$XDG_DATA_HOME/tsbuild` (`~/.local/share/tsbuild`) for anyone else.
 */
import os from 'node:os';
import path from 'node:path';
import { CacheIndex } from '../cache/cache-index.js';
import { LocalContentStore } from '../content/local-store.js';
import { StoreApplier, type Applier } from '../diff/applier.js';
import { MountDiffer, type Differ } from '../diff/differ.js';
import { ImageIndex } from '../images/image-index.js';
import { nullSink, warningsTo, type ProgressSink } from '../progress/events.js';
import { BlobSources } from '../registry/blob-sources.js';
import { RuncExecutor } from '../runtime/runc.js';
import { recordedSnapshotter, selectSnapshotter } from '../snapshot/select.js';
import type { ManagedSnapshotter } from '../snapshot/snapshotter.js';
import { Lease, liveLeases, withGcLock, type LiveLeases } from '../util/lease.js';
import { prepareStateRoot } from '../util/make-dirs.js';
import { isHostRoot } from '../util/user-namespace.js';
import type { Warn } from '../util/set-aside.js';
import { describeReclaimed, reclaimedCount, reclaimRoot, type ReclaimResult } from './reclaim-root.js';

export type { ReclaimResult } from './reclaim-root.js';

/** The state root's path: the one given, else the environment's, else the user's default. */
export function stateRootPath(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return path.resolve(explicit);
  if (env.TSBUILD_ROOT) return path.resolve(env.TSBUILD_ROOT);
  // Root of a user namespace (a rootless build) is still the unprivileged user.
  if (isHostRoot()) return '/var/lib/tsbuild';
  return path.join(env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'tsbuild');
}

export class StateRoot {
  readonly store: LocalContentStore;
  readonly images: ImageIndex;
  readonly cache: CacheIndex;
  readonly blobSources: BlobSources;
  readonly executor: RuncExecutor;
  /**
   * Writes a step's layer into the store. Uncompressed: a layer is compressed only when it leaves
   * the store (`export/recompress.ts`), and an image that stays on the machine never needs it.
   */
  readonly differ: Differ;
  /** Unpacks stored layers onto snapshots. */
  readonly applier: Applier;
  /** Where damaged state files are reported (`warning: …` messages on the command's progress). */
  readonly warn: Warn;
  private snapshotterReady: Promise<ManagedSnapshotter> | undefined;

  private constructor(
    readonly path: string,
    private readonly progress: ProgressSink,
  ) {
    this.warn = warningsTo(progress);
    this.store = new LocalContentStore(path);
    this.images = new ImageIndex(path, this.warn);
    this.cache = new CacheIndex(path, this.warn);
    this.blobSources = new BlobSources(path, this.warn);
    this.executor = new RuncExecutor(path);
    this.differ = new MountDiffer(this.store, path, 'uncompressed');
    this.applier = new StoreApplier(this.store);
  }

  /**
   * The state root at `stateRootPath(root)` for reading only: nothing is created (`--call=check`
   * looks for stored base images without making a root).
   */
  static existing(root?: string, progress: ProgressSink = nullSink): StateRoot {
    return new StateRoot(stateRootPath(root), progress);
  }

  /**
   * Opens (and creates, failing in one line if it cannot) the state root at `stateRootPath(root)`;
   * `progress` hears of damaged state files and of what a reclaim removed.
   */
  static async open(root?: string, progress: ProgressSink = nullSink): Promise<StateRoot> {
    const dir = stateRootPath(root);
    await prepareStateRoot(dir);
    return new StateRoot(dir, progress);
  }

  /** The snapshotter of this root (chosen once; `notice` hears about a fallback). */
  snapshotter(notice?: (message: string) => void): Promise<ManagedSnapshotter> {
    this.snapshotterReady ??= selectSnapshotter(this.path, notice, this.warn);
    return this.snapshotterReady;
  }

  /**
   * Removes what processes that no longer run left in the root; never touches a live one's. A
   * command that has not chosen the snapshotter (a pull) uses the one the root records, without
   * the test mount. What was removed is said in one progress message. An unprivileged user's
   * command outside its user namespace (a rootless pull or load) cannot remove what subordinate ids
   * own: containers, scratch directories and snapshots wait for the next build, du or prune, which
   * run in the namespace (`docs/rootless.md`).
   */
  async reclaim(): Promise<ReclaimResult> {
    const privileged = process.getuid?.() === 0;
    const reclaimed = await reclaimRoot(this.path, {
      executor: privileged ? this.executor : undefined,
      store: this.store,
      cache: this.cache,
      snapshotter: async () => (privileged ? (this.snapshotterReady ?? recordedSnapshotter(this.path, this.warn)) : undefined),
    });
    if (reclaimedCount(reclaimed) > 0) this.progress.emit({ type: 'message', text: describeReclaimed(reclaimed) });
    return reclaimed;
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
