/**
 * The overlay snapshotter: each snapshot is a directory `snapshots/<id>/fs` holding only its own
 * changes; an active snapshot mounts its parents' directories as `lowerdir` (nearest first), its
 * own as `upperdir`, with a `workdir` beside it. Lower directories are named through short links
 * (`snapshots/l/<10 chars>`), as docker's overlay2 does, so long parent chains fit the kernel's
 * one-page limit on mount options. In a user namespace (a rootless build) the mounts carry
 * `userxattr`: overlayfs then keeps its markers in `user.overlay.*`, which the namespace's root may
 * write, where the host's root uses `trusted.overlay.*`. The same directories served by
 * fuse-overlayfs instead of the kernel (`fuse: true`) are the kind `fuse-overlayfs`: where a user
 * namespace may not mount overlayfs (Linux before 5.11). Its upper dirs mark whiteouts and opaque
 * directories its own way (`diff/fuse-markers.ts`).
 *
 * A snapshot's few directories and its link are made and removed with synchronous calls: every step
 * prepares and commits one, often while another step's layer keeps the event loop busy, where each
 * thread-pool round trip waits for its next turn (`docs/performance.md`).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { DirectorySnapshotter, getRecord, type Records } from './directory-snapshotter.js';
import type { SnapshotRecord } from './metadata.js';
import type { Mount } from './snapshotter.js';
import type { Warn } from '../util/set-aside.js';

const LINK_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Overlay-backed snapshots under `<root>/snapshots`. */
export class OverlaySnapshotter extends DirectorySnapshotter {
  readonly kind: 'overlay' | 'overlay-userxattr' | 'fuse-overlayfs';
  private readonly extraOptions: string[];
  private readonly mountType: 'overlay' | 'fuse-overlayfs';

  constructor(root: string, options: { userXattr?: boolean; fuse?: boolean; warn?: Warn } = {}) {
    super(path.join(root, 'snapshots'), options.warn);
    this.kind = options.fuse ? 'fuse-overlayfs' : options.userXattr ? 'overlay-userxattr' : 'overlay';
    this.mountType = options.fuse ? 'fuse-overlayfs' : 'overlay';
    this.extraOptions = options.userXattr && !options.fuse ? ['userxattr'] : [];
  }

  /** The directories of `key`'s parents, nearest first (what the overlay stacks below it). */
  async lowerDirs(key: string): Promise<string[]> {
    const records = await this.metadata.read();
    return chain(records, getRecord(records, key).parent).map((r) => this.fsOf(r));
  }

  protected async populate(record: SnapshotRecord): Promise<void> {
    if (record.kind === 'active') mkdirSync(path.join(this.dir, record.id, 'work'));
    record.link = Array.from(randomBytes(10), (b) => LINK_ALPHABET[b % 32]).join('');
    mkdirSync(path.join(this.dir, 'l'), { recursive: true });
    symlinkSync(path.join('..', record.id, 'fs'), path.join(this.dir, 'l', record.link));
  }

  protected override async afterCommit(record: SnapshotRecord): Promise<void> {
    // What overlayfs leaves in its workdir after the unmount: an empty directory or two.
    rmSync(path.join(this.dir, record.id, 'work'), { recursive: true, force: true });
  }

  protected override async afterRemove(record: SnapshotRecord): Promise<void> {
    if (record.link) rmSync(path.join(this.dir, 'l', record.link), { force: true });
  }

  protected mountsOf(records: Records, record: SnapshotRecord): Mount[] {
    const parents = chain(records, record.parent);
    const lowers = parents.map((r) => path.join(this.dir, 'l', r.link ?? ''));
    if (record.kind === 'view') {
      if (parents.length === 0) return [{ type: 'bind', source: this.fsOf(record), options: ['ro', 'rbind'] }];
      if (parents.length === 1) return [{ type: 'bind', source: this.fsOf(parents[0] as SnapshotRecord), options: ['ro', 'rbind'] }];
      return [{ type: this.mountType, source: this.mountType, options: [`lowerdir=${lowers.join(':')}`, ...this.extraOptions] }];
    }
    if (parents.length === 0) return [{ type: 'bind', source: this.fsOf(record), options: ['rw', 'rbind'] }];
    return [
      {
        type: this.mountType,
        source: this.mountType,
        options: [
          `workdir=${path.join(this.dir, record.id, 'work')}`,
          `upperdir=${this.fsOf(record)}`,
          `lowerdir=${lowers.join(':')}`,
          ...this.extraOptions,
        ],
      },
    ];
  }
}

function chain(records: Records, parent: string | undefined): SnapshotRecord[] {
  const out: SnapshotRecord[] = [];
  for (let name = parent; name !== undefined; name = getRecord(records, name).parent) out.push(getRecord(records, name));
  return out;
}
