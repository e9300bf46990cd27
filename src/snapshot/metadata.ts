/**
 * Snapshot metadata: one JSON file mapping keys and names to snapshot directories, rewritten
 * atomically under a cross-process lock. Directory ids are random, so renaming a key on commit never
 * moves data.
 *
 * A damaged file is set aside and what can still be read is kept (`util/record-file.ts`): a
 * record is kept only with its whole parent chain, since an overlay needs every lower directory.
 * The directories of lost records are orphans from then on, reclaimed with those a kill leaves
 * (`removeOrphans`); the build steps that made them run again.
 */
import path from 'node:path';
import { RecordFile, type Records } from '../util/record-file.js';
import { isObject, type Warn } from '../util/set-aside.js';
import type { SnapshotInfo } from './snapshotter.js';

/** A stored snapshot record. */
export interface SnapshotRecord extends SnapshotInfo {
  /** The directory under `snapshots/`. */
  id: string;
  /** The short link name under `snapshots/l/` (overlay only). */
  link?: string;
}

/** The name of a snapshot's directory: 12 random bytes in hex. */
export const SNAPSHOT_ID = /^[0-9a-f]{24}$/;
/** An overlay link name: 10 characters of base32. */
const LINK = /^[A-Z2-7]{10}$/;

/** A record as tsbuild writes it; its id and link become paths, so nothing else is accepted. */
function isSnapshotRecord(value: unknown, key: string): value is SnapshotRecord {
  if (!isObject(value)) return false;
  const { kind, id, link, parent, created } = value;
  return (
    value.key === key &&
    (kind === 'committed' || kind === 'active' || kind === 'view') &&
    typeof id === 'string' &&
    SNAPSHOT_ID.test(id) &&
    typeof created === 'string' &&
    (link === undefined || (typeof link === 'string' && LINK.test(link))) &&
    (parent === undefined || typeof parent === 'string')
  );
}

/** Drops records whose parent chain has a gap (or a loop), until none has. */
function keepWholeChains(records: Records<SnapshotRecord>): void {
  const whole = (record: SnapshotRecord): boolean => {
    const seen = new Set<string>();
    for (let at: SnapshotRecord | undefined = record; at?.parent !== undefined; at = records[at.parent]) {
      if (seen.has(at.key) || !records[at.parent]) return false;
      seen.add(at.key);
    }
    return true;
  };
  for (let dropped = true; dropped;) {
    dropped = false;
    for (const [key, record] of Object.entries(records)) {
      if (whole(record)) continue;
      delete records[key];
      dropped = true;
    }
  }
}

/** Reads and updates the metadata file of a snapshotter root. */
export class SnapshotMetadata {
  private readonly records: RecordFile<SnapshotRecord>;

  constructor(root: string, warn: Warn) {
    this.records = new RecordFile(path.join(root, 'metadata.json'), {
      field: 'snapshots',
      keyField: 'key',
      check: isSnapshotRecord,
      settle: keepWholeChains,
      what: 'the snapshot metadata',
      consequence: () => 'their directories will be reclaimed and the steps that made them run again',
      warn,
    });
  }

  read(): Promise<Record<string, SnapshotRecord>> {
    return this.records.read();
  }

  /** Runs `fn` holding the metadata lock, without changing the records. */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    return this.records.locked(fn);
  }

  /** Applies `change` to the records under the lock and saves the result; returns `change`'s value. */
  update<T>(change: (records: Record<string, SnapshotRecord>) => T | Promise<T>): Promise<T> {
    return this.records.update(change);
  }
}
