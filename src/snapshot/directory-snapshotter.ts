/**
 * What both snapshotters share: snapshots are directories `<dir>/<id>/fs` named in a metadata
 * file; keys become names on commit; a snapshot others build on cannot be removed. Subclasses say
 * how a new snapshot is filled and mounted.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { SNAPSHOT_ID, SnapshotMetadata, type SnapshotRecord } from './metadata.js';
import { ignoreWarnings, type Warn } from '../util/set-aside.js';
import { namesIn } from '../util/absent.js';
import { removeDeadSiblings } from '../util/private-sibling.js';
import type { ManagedSnapshotter, Mount, SnapshotInfo } from './snapshotter.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ownerAlive, ownerIn } from '../util/owner.js';
import { makeSpreadingDirectory } from '../util/spread-directory.js';

export type Records = Record<string, SnapshotRecord>;

export abstract class DirectorySnapshotter implements ManagedSnapshotter {
  abstract readonly kind: 'overlay' | 'overlay-userxattr' | 'fuse-overlayfs' | 'copying';
  protected readonly metadata: SnapshotMetadata;
  /** The snapshotter's directory, made (with the `T` attribute, `util/spread-directory.ts`) before the first snapshot. */
  private made?: Promise<void>;

  /** `warn`: told when the metadata file is damaged and set aside. */
  constructor(
    readonly dir: string,
    warn: Warn = ignoreWarnings,
  ) {
    this.metadata = new SnapshotMetadata(dir, warn);
  }

  /** Bytes under the snapshotter's directory (`du`: hard links and sparse files counted once, as on disk). */
  async diskUsage(): Promise<number> {
    if ((await this.list()).length === 0) return 0;
    const { stdout } = await promisify(execFile)('du', ['-sb', this.dir]);
    return Number(stdout.split('\t')[0]);
  }

  /** Fills a new snapshot's directory (called under the metadata lock). */
  protected abstract populate(record: SnapshotRecord, parent: SnapshotRecord | undefined): Promise<void>;
  /** The mounts of a snapshot. */
  protected abstract mountsOf(records: Records, record: SnapshotRecord): Mount[];
  /** Work to do when a snapshot is committed or removed. */
  protected async afterCommit(_record: SnapshotRecord): Promise<void> {}
  protected async afterRemove(_record: SnapshotRecord): Promise<void> {}
  /** What the snapshot sits on: its parents' directories, nearest first (for tests; callers use the mounts). */
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
   * Removes what a kill left in the snapshotter's directory that no record names: a snapshot
   * directory made but not yet recorded, or no longer recorded but not yet deleted (and overlay
   * links alike), and the temporary and lock files of metadata writers that are gone. Checked under
   * the metadata lock, which every create and remove holds while it changes either, so a directory
   * being made right now is never taken. Returns how many entries went.
   */
  async removeOrphans(): Promise<number> {
    const orphans = async (): Promise<{ dirs: string[]; links: string[] }> => {
      const records = Object.values(await this.metadata.read());
      const ids = new Set(records.map((r) => r.id));
      const links = new Set(records.flatMap((r) => (r.link ? [r.link] : [])));
      return {
        dirs: (await namesIn(this.dir)).filter((n) => SNAPSHOT_ID.test(n) && !ids.has(n)),
        links: (await namesIn(path.join(this.dir, 'l'))).filter((n) => !links.has(n)),
      };
    };
    const siblings = await removeDeadSiblings(this.dir);
    const seen = await orphans();
    if (seen.dirs.length === 0 && seen.links.length === 0) return siblings;
    const found = await this.metadata.locked(async () => {
      const current = await orphans();
      for (const link of current.links) await rm(path.join(this.dir, 'l', link), { force: true });
      for (const dir of current.dirs) await rm(path.join(this.dir, dir), { recursive: true, force: true });
      return current;
    });
    return siblings + found.dirs.length;
  }

  async stat(key: string): Promise<SnapshotInfo> {
    return info(getRecord(await this.metadata.read(), key));
  }

  async list(): Promise<SnapshotInfo[]> {
    return Object.values(await this.metadata.read()).map(info);
  }

  /** The directory holding the snapshot's own files (for tests; callers use the mounts). */
  async upperDir(key: string): Promise<string> {
    return this.fsOf(getRecord(await this.metadata.read(), key));
  }

  protected fsOf(record: SnapshotRecord): string {
    return path.join(this.dir, record.id, 'fs');
  }

  private async create(kind: 'active' | 'view', key: string, parent?: string): Promise<Mount[]> {
    await (this.made ??= makeSpreadingDirectory(this.dir));
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
      mkdirSync(this.fsOf(record), { recursive: true, mode: 0o755 });
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
