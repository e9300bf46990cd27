/**
 * What both snapshotters share: snapshots are directories `<dir>/<id>/fs` named in a metadata
 * file; keys become names on commit; a snapshot others build on cannot be removed. Subclasses say
 * how a new snapshot is filled and mounted.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../errors.js';
import type { LayeredSnapshotter } from './layered.js';
import { SNAPSHOT_ID, SnapshotMetadata, type SnapshotRecord } from './metadata.js';
import { ignoreWarnings, type Warn } from '../util/set-aside.js';
import type { Mount, SnapshotInfo } from './snapshotter.js';
import { ownerAlive, ownerIn } from '../util/owner.js';
import { namesIn } from '../util/absent.js';

export type Records = Record<string, SnapshotRecord>;

export abstract class DirectorySnapshotter implements LayeredSnapshotter {
  abstract readonly kind: 'overlay' | 'copying';
  protected readonly metadata: SnapshotMetadata;

  /** `warn`: told when the metadata file is damaged and set aside. */
  constructor(
    readonly dir: string,
    warn: Warn = ignoreWarnings,
  ) {
    this.metadata = new SnapshotMetadata(dir, warn);
  }

  /** Fills a new snapshot's directory (called under the metadata lock). */
  protected abstract populate(record: SnapshotRecord, parent: SnapshotRecord | undefined): Promise<void>;
  /** The mounts of a snapshot. */
  protected abstract mountsOf(records: Records, record: SnapshotRecord): Mount[];
  /** Work to do when a snapshot is committed or removed. */
  protected async afterCommit(_record: SnapshotRecord): Promise<void> {}
  protected async afterRemove(_record: SnapshotRecord): Promise<void> {}
  abstract lowerDirs(key: string): Promise<string[]>;

  prepare(key: string, parent?: string): Promise<Mount[]> {
    return this.create('active', key, parent);
  }

  view(key: string, parent?: string): Promise<Mount[]> {
    return this.create('view', key, parent);
  }

  async mounts(key: string): Promise<Mount[]> {
    const records = await this.metadata.read();
    return this.mountsOf(records, getRecord(records, key));
  }

  async commit(name: string, key: string): Promise<void> {
    await this.metadata.update(async (records) => {
      const record = getRecord(records, key);
      if (record.kind !== 'active') throw new InvalidArgumentError(`snapshot ${key} is a ${record.kind}, only active snapshots can be committed`);
      if (records[name]) throw new AlreadyExistsError(`snapshot ${name} already exists`);
      delete records[key];
      records[name] = { ...record, key: name, kind: 'committed' };
      await this.afterCommit(record);
    });
  }

  async remove(key: string): Promise<void> {
    // The record goes first, then the files: a kill in between leaves an orphan directory, which
    // `removeOrphans` reclaims, never a record naming a half-deleted tree.
    const record = await this.metadata.update((records) => {
      const found = getRecord(records, key);
      const child = Object.values(records).find((r) => r.parent === key);
      if (child) throw new InvalidArgumentError(`cannot remove snapshot ${key}: ${child.key} is built on it`);
      delete records[key];
      return found;
    });
    await this.discard(record);
  }

  /** Removes what a record no longer names: its directory (and the overlay's link to it). */
  private async discard(record: SnapshotRecord): Promise<void> {
    await this.afterRemove(record);
    await rm(path.join(this.dir, record.id), { recursive: true, force: true });
  }

  /**
   * Removes active snapshots and views whose key names an owner (`<kind>-<owner>-…`, see
   * `util/owner.ts`) that is no longer running: what a crashed or killed tsbuild left behind.
   * Returns their keys.
   */
  async removeStale(): Promise<string[]> {
    const isStale = (r: SnapshotRecord): boolean => {
      const owner = ownerIn(r.key);
      return r.kind !== 'committed' && owner !== undefined && !ownerAlive(owner);
    };
    // Nothing to do (the usual case) costs one read and no lock.
    if (!Object.values(await this.metadata.read()).some(isStale)) return [];
    const stale = await this.metadata.update((records) => {
      // Nothing is built on an active snapshot or a view, so each can go on its own.
      const found = Object.values(records).filter(isStale);
      for (const record of found) delete records[record.key];
      return found;
    });
    for (const record of stale) await this.discard(record);
    return stale.map((r) => r.key);
  }

  /**
   * Removes snapshot directories (and overlay links) that no record names: a kill between making a
   * snapshot's directory and recording it, or between dropping a record and deleting its files.
   * Checked under the metadata lock, which every create and remove holds while it changes either,
   * so a directory being made right now is never taken. Returns the directory names.
   */
  async removeOrphans(): Promise<string[]> {
    const orphans = async (): Promise<{ dirs: string[]; links: string[] }> => {
      const records = Object.values(await this.metadata.read());
      const ids = new Set(records.map((r) => r.id));
      const links = new Set(records.flatMap((r) => (r.link ? [r.link] : [])));
      return {
        dirs: (await namesIn(this.dir)).filter((n) => SNAPSHOT_ID.test(n) && !ids.has(n)),
        links: (await namesIn(path.join(this.dir, 'l'))).filter((n) => !links.has(n)),
      };
    };
    const seen = await orphans();
    if (seen.dirs.length === 0 && seen.links.length === 0) return [];
    const found = await this.metadata.locked(async () => {
      const current = await orphans();
      for (const link of current.links) await rm(path.join(this.dir, 'l', link), { force: true });
      for (const dir of current.dirs) await rm(path.join(this.dir, dir), { recursive: true, force: true });
      return current;
    });
    return found.dirs;
  }

  async stat(key: string): Promise<SnapshotInfo> {
    return info(getRecord(await this.metadata.read(), key));
  }

  async list(): Promise<SnapshotInfo[]> {
    return Object.values(await this.metadata.read()).map(info);
  }

  async upperDir(key: string): Promise<string> {
    return this.fsOf(getRecord(await this.metadata.read(), key));
  }

  protected fsOf(record: SnapshotRecord): string {
    return path.join(this.dir, record.id, 'fs');
  }

  private async create(kind: 'active' | 'view', key: string, parent?: string): Promise<Mount[]> {
    return this.metadata.update(async (records) => {
      if (records[key]) throw new AlreadyExistsError(`snapshot ${key} already exists`);
      const from = parent === undefined ? undefined : getRecord(records, parent);
      if (from && from.kind !== 'committed') throw new InvalidArgumentError(`parent ${parent} is not committed`);
      const record: SnapshotRecord = {
        key,
        kind,
        id: randomBytes(12).toString('hex'),
        created: new Date().toISOString(),
        ...(parent === undefined ? {} : { parent }),
      };
      await mkdir(this.fsOf(record), { recursive: true, mode: 0o755 });
      try {
        await this.populate(record, from);
      } catch (err) {
        await rm(path.join(this.dir, record.id), { recursive: true, force: true });
        throw err;
      }
      records[key] = record;
      return this.mountsOf(records, record);
    });
  }
}

export function getRecord(records: Records, key: string): SnapshotRecord {
  const record = records[key];
  if (!record) throw new NotFoundError(`snapshot ${key} not found`);
  return record;
}

function info(record: SnapshotRecord): SnapshotInfo {
  return { key: record.key, kind: record.kind, created: record.created, ...(record.parent === undefined ? {} : { parent: record.parent }) };
}
