/**
 * Snapshot metadata: one JSON file mapping keys and names to snapshot directories, rewritten
 * atomically under a cross-process lock. Directory ids are random, so renaming a key on commit never
 * moves data.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-write.js';
import path from 'node:path';
import { withFileLock } from '../util/file-lock.js';
import type { SnapshotInfo } from './snapshotter.js';

/** A stored snapshot record. */
export interface SnapshotRecord extends SnapshotInfo {
  /** The directory under `snapshots/`. */
  id: string;
  /** The short link name under `snapshots/l/` (overlay only). */
  link?: string;
}

interface MetadataFile {
  version: 1;
  snapshots: Record<string, SnapshotRecord>;
}

/** Reads and updates the metadata file of a snapshotter root. */
export class SnapshotMetadata {
  private readonly file: string;

  constructor(root: string) {
    this.file = path.join(root, 'metadata.json');
  }

  async read(): Promise<Record<string, SnapshotRecord>> {
    try {
      return (JSON.parse(await readFile(this.file, 'utf8')) as MetadataFile).snapshots;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
  }

  /** Applies `change` to the records under the lock and saves the result; returns `change`'s value. */
  async update<T>(change: (records: Record<string, SnapshotRecord>) => T | Promise<T>): Promise<T> {
    await mkdir(path.dirname(this.file), { recursive: true });
    return withFileLock(this.file, async () => {
      const records = await this.read();
      const result = await change(records);
      await writeFileAtomic(this.file, `${JSON.stringify({ version: 1, snapshots: records } satisfies MetadataFile, null, 2)}\n`);
      return result;
    });
  }
}
