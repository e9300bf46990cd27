/**
 * Disk usage and garbage collection of the state root. What is kept: blobs that a named image
 * needs (its manifest, config, layers), and with `all: false` every cache record whose snapshot
 * and layer still exist with those. `all: true` drops the build cache too. Snapshots are removed
 * children first and never while something builds on them (active snapshots of live processes
 * are not touched), so nothing in use disappears.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LocalContentStore } from '../content/local-store.js';
import { parseDigest } from '../digest/digest.js';
import type { Manifest } from '../image/oci-types.js';
import type { LayeredSnapshotter } from '../snapshot/layered.js';
import type { CacheIndex } from './cache-index.js';

const run = promisify(execFile);

export interface Usage {
  blobs: { count: number; bytes: number };
  snapshots: { count: number; bytes: number };
  cacheRecords: number;
}

export interface PruneResult {
  cacheRecords: number;
  snapshots: number;
  blobs: number;
  bytes: number;
}

/** What the state root holds. */
export async function diskUsage(store: LocalContentStore, snapshotter: LayeredSnapshotter, cache: CacheIndex): Promise<Usage> {
  let blobs = 0;
  let blobBytes = 0;
  for await (const blob of store.walk()) {
    blobs++;
    blobBytes += blob.size;
  }
  const snapshots = await snapshotter.list();
  const bytes = snapshots.length === 0 ? 0 : Number((await run('du', ['-sb', snapshotter.dir]).catch(() => ({ stdout: '0' }))).stdout.split('\t')[0]);
  return { blobs: { count: blobs, bytes: blobBytes }, snapshots: { count: snapshots.length, bytes }, cacheRecords: (await cache.entries()).length };
}

/** Removes what nothing needs; `all` also removes the build cache. */
export async function prune(
  store: LocalContentStore,
  snapshotter: LayeredSnapshotter,
  cache: CacheIndex,
  imageManifests: readonly string[],
  options: { all?: boolean } = {},
): Promise<PruneResult> {
  const result: PruneResult = { cacheRecords: 0, snapshots: 0, blobs: 0, bytes: 0 };
  await snapshotter.removeStale();
  await store.cleanIngest();
  const keepBlobs = new Set<string>();
  for (const digest of imageManifests) {
    keepBlobs.add(digest);
    const info = await store.info(parseDigest(digest));
    if (!info) continue;
    const manifest = JSON.parse((await store.readBytes(parseDigest(digest))).toString()) as Manifest;
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
    if (options.all || !snapshotExists || !blobExists) {
      await cache.drop(file);
      result.cacheRecords++;
    } else {
      keepSnapshots.add(record.snapshot);
      keepBlobs.add(record.layer.descriptor.digest);
    }
  }
  // Keep the parents of kept snapshots; remove the rest, children before parents.
  const snapshots = await snapshotter.list();
  const byKey = new Map(snapshots.map((s) => [s.key, s]));
  for (const key of [...keepSnapshots]) for (let p = byKey.get(key)?.parent; p !== undefined; p = byKey.get(p)?.parent) keepSnapshots.add(p);
  let removed = true;
  while (removed) {
    removed = false;
    for (const s of await snapshotter.list()) {
      if (s.kind !== 'committed' || keepSnapshots.has(s.key)) continue;
      const hasChild = (await snapshotter.list()).some((c) => c.parent === s.key);
      if (hasChild) continue;
      await snapshotter.remove(s.key);
      result.snapshots++;
      removed = true;
    }
  }
  for await (const blob of store.walk()) {
    if (keepBlobs.has(blob.digest)) continue;
    await store.delete(blob.digest);
    result.blobs++;
    result.bytes += blob.size;
  }
  return result;
}
