/**
 * The overlay snapshotter: each snapshot is a directory `snapshots/<id>/fs` holding only its own
 * changes; an active snapshot mounts its parents' directories as `lowerdir` (nearest first), its
 * own as `upperdir`, with a `workdir` beside it. Lower directories are named through short links
 * (`snapshots/l/<10 chars>`), as docker's overlay2 does, so long parent chains fit the kernel's
 * one-page limit on mount options.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { SnapshotMetadata, type SnapshotRecord } from './metadata.js';
import type { Mount, SnapshotInfo, Snapshotter } from './snapshotter.js';

const LINK_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Overlay-backed snapshots under `<root>/snapshots`. */
export class OverlaySnapshotter implements Snapshotter {
  readonly dir: string;
  private readonly metadata: SnapshotMetadata;

  constructor(root: string) {
    this.dir = path.join(root, 'snapshots');
    this.metadata = new SnapshotMetadata(this.dir);
  }

  prepare(key: string, parent?: string): Promise<Mount[]> {
    return this.create('active', key, parent);
  }

  view(key: string, parent?: string): Promise<Mount[]> {
    return this.create('view', key, parent);
  }

  async mounts(key: string): Promise<Mount[]> {
    const records = await this.metadata.read();
    return this.mountsOf(records, get(records, key));
  }

  async commit(name: string, key: string): Promise<void> {
    await this.metadata.update(async (records) => {
      const record = get(records, key);
      if (record.kind !== 'active') throw new InvalidArgumentError(`snapshot ${key} is a ${record.kind}, only active snapshots can be committed`);
      if (records[name]) throw new AlreadyExistsError(`snapshot ${name} already exists`);
      delete records[key];
      records[name] = { ...record, key: name, kind: 'committed' };
      await rm(path.join(this.dir, record.id, 'work'), { recursive: true, force: true });
    });
  }

  async remove(key: string): Promise<void> {
    await this.metadata.update(async (records) => {
      const record = get(records, key);
      const child = Object.values(records).find((r) => r.parent === key);
      if (child) throw new InvalidArgumentError(`cannot remove snapshot ${key}: ${child.key} is built on it`);
      delete records[key];
      if (record.link) await rm(path.join(this.dir, 'l', record.link), { force: true });
      await rm(path.join(this.dir, record.id), { recursive: true, force: true });
    });
  }

  async stat(key: string): Promise<SnapshotInfo> {
    return info(get(await this.metadata.read(), key));
  }

  async list(): Promise<SnapshotInfo[]> {
    return Object.values(await this.metadata.read()).map(info);
  }

  /** The directory holding a snapshot's own files (the upper dir of an active one). */
  async upperDir(key: string): Promise<string> {
    return path.join(this.dir, get(await this.metadata.read(), key).id, 'fs');
  }

  /** The directories of `key`'s parents, nearest first (what the overlay stacks below it). */
  async lowerDirs(key: string): Promise<string[]> {
    const records = await this.metadata.read();
    return this.chain(records, get(records, key).parent).map((r) => path.join(this.dir, r.id, 'fs'));
  }

  private async create(kind: 'active' | 'view', key: string, parent?: string): Promise<Mount[]> {
    return this.metadata.update(async (records) => {
      if (records[key]) throw new AlreadyExistsError(`snapshot ${key} already exists`);
      if (parent !== undefined && get(records, parent).kind !== 'committed') throw new InvalidArgumentError(`parent ${parent} is not committed`);
      const id = randomBytes(12).toString('hex');
      const link = Array.from(randomBytes(10), (b) => LINK_ALPHABET[b % 32]).join('');
      await mkdir(path.join(this.dir, id, 'fs'), { recursive: true, mode: 0o755 });
      if (kind === 'active') await mkdir(path.join(this.dir, id, 'work'), { recursive: true });
      await mkdir(path.join(this.dir, 'l'), { recursive: true });
      await symlink(path.join('..', id, 'fs'), path.join(this.dir, 'l', link));
      const record: SnapshotRecord = { key, kind, id, link, created: new Date().toISOString(), ...(parent === undefined ? {} : { parent }) };
      records[key] = record;
      return this.mountsOf(records, record);
    });
  }

  private chain(records: Record<string, SnapshotRecord>, parent: string | undefined): SnapshotRecord[] {
    const out: SnapshotRecord[] = [];
    for (let name = parent; name !== undefined; name = get(records, name).parent) out.push(get(records, name));
    return out;
  }

  private mountsOf(records: Record<string, SnapshotRecord>, record: SnapshotRecord): Mount[] {
    const own = path.join(this.dir, record.id, 'fs');
    const lowers = this.chain(records, record.parent).map((r) => path.join(this.dir, 'l', r.link ?? ''));
    if (record.kind === 'view') {
      if (lowers.length === 0) return [{ type: 'bind', source: own, options: ['ro', 'rbind'] }];
      if (lowers.length === 1) return [{ type: 'bind', source: path.join(this.dir, get(records, record.parent ?? '').id, 'fs'), options: ['ro', 'rbind'] }];
      return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lowers.join(':')}`] }];
    }
    if (lowers.length === 0) return [{ type: 'bind', source: own, options: ['rw', 'rbind'] }];
    return [{
      type: 'overlay',
      source: 'overlay',
      options: [`workdir=${path.join(this.dir, record.id, 'work')}`, `upperdir=${own}`, `lowerdir=${lowers.join(':')}`],
    }];
  }
}

function get(records: Record<string, SnapshotRecord>, key: string): SnapshotRecord {
  const record = records[key];
  if (!record) throw new NotFoundError(`snapshot ${key} not found`);
  return record;
}

function info(record: SnapshotRecord): SnapshotInfo {
  return { key: record.key, kind: record.kind, created: record.created, ...(record.parent === undefined ? {} : { parent: record.parent }) };
}
