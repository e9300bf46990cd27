/**
 * The snapshotter contract, after containerd's: a snapshot is a filesystem tree identified by a
 * *key* while active (writable) and by a *name* once committed (read-only, usable as a parent).
 * Methods return mounts as data; mounting them is the runtime's job (`runtime/mount.ts`).
 */

/**
 * A mount, as `mount(8)` takes it; `fuse-overlayfs` is the same options served by that FUSE
 * daemon (`util/fuse-overlayfs.ts`) instead of the kernel.
 */
export interface Mount {
  type: 'overlay' | 'bind' | 'fuse-overlayfs';
  source: string;
  options: string[];
}

/** What a snapshot is. */
export interface SnapshotInfo {
  /** The key (active, view) or name (committed). */
  key: string;
  kind: 'active' | 'view' | 'committed';
  parent?: string;
  created: string;
}

/**
 * Creates, commits and removes snapshots. Callers work with the mounts it returns, never with its
 * directories: an applier writes where the mounts say (an overlay's upper dir, a bind's source), a
 * differ reads the changes the same way (`mount-data.ts`), so another snapshotter drops in without
 * touching them. `test/suites/snapshotter.ts` is the conformance suite every one runs.
 */
export interface Snapshotter {
  /** A writable snapshot on top of `parent` (a committed name), ready to mount. */
  prepare(key: string, parent?: string): Promise<Mount[]>;
  /** A read-only view of `parent`. */
  view(key: string, parent?: string): Promise<Mount[]>;
  /** The mounts of an existing active snapshot or view. */
  mounts(key: string): Promise<Mount[]>;
  /**
   * Turns the active snapshot `key` into the committed snapshot `name`. The directories the mounts
   * of `key` named for content (an overlay's upper and lower dirs, a bind's source; not an overlay's
   * work dir) stay where they are, unchanged by the snapshotter, for as long as `name` exists: a
   * differ may still read the change from those mounts after the commit, while children are
   * prepared on `name` (a step writes its layer so).
   */
  commit(name: string, key: string): Promise<void>;
  /** Removes a snapshot; refuses one that others build on. */
  remove(key: string): Promise<void>;
  /** Describes a snapshot; throws NotFoundError when there is none. */
  stat(key: string): Promise<SnapshotInfo>;
  /** Every snapshot. */
  list(): Promise<SnapshotInfo[]>;
}

/** What the state root's housekeeping needs from a snapshotter besides the contract. */
export interface ManagedSnapshotter extends Snapshotter {
  /** Which implementation this is (`overlay`, `copying`, …), for `du` and messages. */
  readonly kind: string;
  /** Removes active snapshots and views of processes that no longer run; returns their keys. */
  removeStale(): Promise<string[]>;
  /**
   * Removes what a process killed between two steps left that no record names (a directory made
   * but not recorded, or unrecorded but not yet deleted; a metadata writer's temporary file);
   * returns how many entries went.
   */
  removeOrphans(): Promise<number>;
  /** Bytes the snapshots take on disk. */
  diskUsage(): Promise<number>;
}
