/**
 * The changes of an active snapshot, found the way its snapshotter allows: from the overlay upper
 * dir (fast path), or by walking the parent's and the snapshot's whole trees (copying fallback);
 * and the layer those changes make. The upper dir's extended attributes are read once (one
 * `getfattr` process) and serve both the opaque markers and the layer's xattr records.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ContentStore } from '../content/store.js';
import type { LayeredSnapshotter } from '../snapshot/layered.js';
import { xattrsUnder } from '../util/native.js';
import type { Change } from './changes.js';
import { writeLayer, type LayerResult, type WriteLayerOptions } from './differ.js';
import { upperdirChanges } from './overlay-changes.js';
import { doubleWalkChanges } from './walk-changes.js';

type Xattrs = ReadonlyMap<string, ReadonlyMap<string, Buffer>>;

export async function snapshotChanges(snapshotter: LayeredSnapshotter, key: string, xattrs?: Xattrs, signal?: AbortSignal): Promise<Change[]> {
  const upper = await snapshotter.upperDir(key);
  const lowers = await snapshotter.lowerDirs(key);
  if (snapshotter.kind === 'overlay') return upperdirChanges({ upper, lowers, ...(xattrs ? { xattrs } : {}), ...(signal ? { signal } : {}) });
  const empty = lowers[0] === undefined ? await mkdtemp(path.join(os.tmpdir(), 'tsbuild-empty-')) : undefined;
  try {
    return await doubleWalkChanges(lowers[0] ?? (empty as string), upper);
  } finally {
    if (empty) await rm(empty, { recursive: true, force: true });
  }
}

export type SnapshotLayerOptions = WriteLayerOptions;

/** The layer of active snapshot `key`'s changes, written to `store`. */
export async function snapshotLayer(
  snapshotter: LayeredSnapshotter,
  key: string,
  store: ContentStore,
  options: SnapshotLayerOptions = {},
): Promise<LayerResult> {
  const upper = await snapshotter.upperDir(key);
  const xattrs = await xattrsUnder(upper);
  const changes = await snapshotChanges(snapshotter, key, xattrs, options.signal);
  return writeLayer(changes, upper, store, { ...options, xattrs });
}
