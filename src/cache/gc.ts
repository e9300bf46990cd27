/**
 * Disk usage and garbage collection of the state root. What is kept: blobs that a named image
 * needs (its manifest, config, layers), and with `all: false` every cache record whose snapshot
 * and layer still exist with those. `all: true` drops the build cache too. Whatever running builds
 * hold (their leases, `util/lease.ts`: cache records with their snapshots and layers, and anything
 * they made) is kept and counted as skipped. Snapshots are removed
 * children first and never while something builds on them (active snapshots of live processes
 * are not touched), so nothing in use disappears. A named image's manifest that no longer
 * verifies is removed (a re-pull or rebuild brings it back) and counted, never a failure.
 */
import path from 'node:path';
import type { ContentStore } from '../content/store.js';
import { isDigest, parseDigest } from '../digest/digest.js';
import { hasCode } from '../errors.js';
import type { Manifest } from '../image/oci-types.js';
import type { ManagedSnapshotter } from '../snapshot/snapshotter.js';
import { statIfExists } from '../util/absent.js';
import type { CacheIndex } from './cache-index.js';

/** Larger blobs are layers, not manifests: not read whole. */
const MAX_MANIFEST = 4 * 1024 * 1024;

export interface Usage {
  blobs: { count: number; bytes: number };
  /** `kind`: the snapshotter the root uses (`overlay`, `overlay-userxattr` in a user namespace, `copying`). */
  snapshots: { count: number; bytes: number; kind: string };
  cacheRecords: number;
}

export interface PruneResult {
  cacheRecords: number;
  snapshots: number;
  blobs: number;
  bytes: number;
  /** What running builds hold, left in place. */
  skipped: { cacheRecords: number; snapshots: number; blobs: number };
  /** Manifests of named images whose bytes no longer matched their digest: removed. */
  corrupt: number;
}

/** What the state root holds. */
export async function diskUsage(store: ContentStore, snapshotter: ManagedSnapshotter, cache: CacheIndex): Promise<Usage> {
  let blobs = 0;
  let blobBytes = 0;
  for await (const blob of store.walk()) {
    blobs++;
    blobBytes += blob.size;
  }
  const snapshots = await snapshotter.list();
  const bytes = await snapshotter.diskUsage();
  return {
    blobs: { count: blobs, bytes: blobBytes },
    snapshots: { count: snapshots.length, bytes, kind: snapshotter.kind },
    cacheRecords: (await cache.entries()).length,
  };
}

/** The manifest stored as `digest`; undefined when it is not stored or is not a manifest. */
async function readManifest(store: ContentStore, digest: string): Promise<Pick<Manifest, 'config' | 'layers'> | undefined> {
  if (!isDigest(digest)) return undefined;
  const info = await store.info(digest);
  if (!info || info.size > MAX_MANIFEST) return undefined;
  let value: unknown;
  try {
    value = JSON.parse((await store.readBytes(digest)).toString('utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { config, layers } = value as Partial<Manifest>;
  const isRef = (d: unknown): d is { digest: string } =>
    typeof d === 'object' && d !== null && typeof (d as { digest?: unknown }).digest === 'string';
  if (!isRef(config) || !Array.isArray(layers) || !layers.every(isRef)) return undefined;
  return { config, layers };
}

/** What `prune` keeps for running builds, from their leases (`util/lease.ts`). */
export interface PruneLeases {
  blobs: ReadonlySet<string>;
  snapshots: ReadonlySet<string>;
  /** Cache records by the hex of their key. */
  records: ReadonlySet<string>;
  /** Anything made at or after this time (ms since the epoch) is kept. */
  since: number | undefined;
}

/**
 * Removes what nothing needs; `all` also removes the build cache. What running builds hold
 * (`leases`) is skipped and counted, never an error. The caller holds the GC lock.
 */
export async function prune(
  store: ContentStore,
  snapshotter: ManagedSnapshotter,
  cache: CacheIndex,
  imageManifests: readonly string[],
  options: { all?: boolean; leases?: PruneLeases; keep?: readonly string[] } = {},
): Promise<PruneResult> {
  const result: PruneResult = { cacheRecords: 0, snapshots: 0, blobs: 0, bytes: 0, skipped: { cacheRecords: 0, snapshots: 0, blobs: 0 }, corrupt: 0 };
  const given = options.leases ?? { blobs: new Set<string>(), snapshots: new Set<string>(), records: new Set<string>(), since: undefined };
  // Copies: a leased cache record's snapshot and layer are leased with it.
  const leases = { ...given, blobs: new Set(given.blobs), snapshots: new Set(given.snapshots) };
  const isNew = (time: number | undefined): boolean => leases.since !== undefined && time !== undefined && time >= leases.since;
  const keepBlobs = new Set<string>();
  // `keep` (what a set-aside image index names) may hold configs and indexes too: only what reads
  // as a manifest has its config and layers kept with it.
  for (const digest of [...imageManifests, ...(options.keep ?? [])]) {
    keepBlobs.add(digest);
    const manifest = await readManifest(store, digest).catch((err: unknown) => {
      if (!hasCode(err, 'digest-mismatch')) throw err;
      result.corrupt++; // the store removed it
      return undefined;
    });
    if (!manifest) continue;
    keepBlobs.add(manifest.config.digest);
    for (const layer of manifest.layers) keepBlobs.add(layer.digest);
  }
  const keepSnapshots = new Set<string>();
  for (const { file, record } of await cache.entries()) {
    const snapshotExists = await snapshotter.stat(record.snapshot).then(
      () => true,
      () => false,
    );
    const blobExists = (await store.info(parseDigest(record.layer.descriptor.digest))) !== undefined;
    const usable = snapshotExists && blobExists;
    if (usable && !options.all) {
      keepSnapshots.add(record.snapshot);
      keepBlobs.add(record.layer.descriptor.digest);
    } else if (usable && (leases.records.has(path.basename(file, '.json')) || isNew((await statIfExists(file))?.mtimeMs))) {
      // A running build took it from the cache or made it: it stays, with what it names.
      result.skipped.cacheRecords++;
      leases.snapshots.add(record.snapshot);
      leases.blobs.add(record.layer.descriptor.digest);
    } else {
      await cache.drop(file);
      result.cacheRecords++;
    }
  }
  // Keep the parents of kept and leased snapshots; remove the rest, children before parents.
  const snapshots = await snapshotter.list();
  const byKey = new Map(snapshots.map((s) => [s.key, s]));
  const leased = new Set<string>();
  for (const s of snapshots) if (leases.snapshots.has(s.key) || (s.kind === 'committed' && isNew(Date.parse(s.created)))) leased.add(s.key);
  for (const key of [...leased]) for (let p = byKey.get(key)?.parent; p !== undefined; p = byKey.get(p)?.parent) leased.add(p);
  for (const key of [...keepSnapshots]) for (let p = byKey.get(key)?.parent; p !== undefined; p = byKey.get(p)?.parent) keepSnapshots.add(p);
  const skippedSnapshots = new Set<string>();
  let removed = true;
  while (removed) {
    removed = false;
    const current = await snapshotter.list();
    for (const s of current) {
      if (s.kind !== 'committed' || keepSnapshots.has(s.key) || skippedSnapshots.has(s.key)) continue;
      if (leased.has(s.key) || current.some((c) => c.parent === s.key)) {
        // Held by a running build, or something (an active snapshot of one) is built on it.
        if (leased.has(s.key)) skippedSnapshots.add(s.key);
        continue;
      }
      const gone = await snapshotter.remove(s.key).then(
        () => true,
        () => false,
      );
      if (gone) {
        result.snapshots++;
        removed = true;
      } else skippedSnapshots.add(s.key);
    }
  }
  result.skipped.snapshots = skippedSnapshots.size;
  for await (const blob of store.walk()) {
    if (keepBlobs.has(blob.digest)) continue;
    if (leases.blobs.has(blob.digest) || isNew(blob.updated)) {
      result.skipped.blobs++;
      continue;
    }
    await store.delete(blob.digest);
    result.blobs++;
    result.bytes += blob.size;
  }
  return result;
}
