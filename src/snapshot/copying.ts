/**
 * The copying snapshotter: the portable fallback where overlayfs is not available. Every snapshot
 * is a full copy of its parent (`cp -a`, which keeps owners, modes, times, xattrs, devices and hard
 * links), mounted with a bind mount. Slower and bigger than overlay; changes are found by walking
 * both trees (`diff/walk-changes.ts`).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { UnavailableError } from '../errors.js';
import { DirectorySnapshotter, getRecord, type Records } from './directory-snapshotter.js';
import type { SnapshotRecord } from './metadata.js';
import type { Mount } from './snapshotter.js';
import type { Warn } from '../util/set-aside.js';

const run = promisify(execFile);

/** Full-copy snapshots under `<root>/snapshots-copy`. */
export class CopyingSnapshotter extends DirectorySnapshotter {
  readonly kind = 'copying' as const;

  constructor(root: string, warn?: Warn) {
    super(path.join(root, 'snapshots-copy'), warn);
  }

  /** The parent's whole tree (the one thing to compare against), or none. */
  async lowerDirs(key: string): Promise<string[]> {
    const records = await this.metadata.read();
    const parent = getRecord(records, key).parent;
    return parent === undefined ? [] : [this.fsOf(getRecord(records, parent))];
  }

  protected async populate(record: SnapshotRecord, parent: SnapshotRecord | undefined): Promise<void> {
    if (!parent) return;
    try {
      await run('cp', ['-a', `${this.fsOf(parent)}/.`, this.fsOf(record)]);
    } catch (err) {
      throw new UnavailableError(`copying snapshot ${parent.key} failed: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`);
    }
  }

  protected mountsOf(_records: Records, record: SnapshotRecord): Mount[] {
    return [{ type: 'bind', source: this.fsOf(record), options: [record.kind === 'view' ? 'ro' : 'rw', 'rbind'] }];
  }
}
