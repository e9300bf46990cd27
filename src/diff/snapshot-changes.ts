/**
 * The changes of an active snapshot, found the way its snapshotter allows: from the overlay upper
 * dir (fast path), or by walking the parent's and the snapshot's whole trees (copying fallback).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LayeredSnapshotter } from '../snapshot/layered.js';
import type { Change } from './changes.js';
import { upperdirChanges } from './overlay-changes.js';
import { doubleWalkChanges } from './walk-changes.js';

export async function snapshotChanges(snapshotter: LayeredSnapshotter, key: string, mountStubs: readonly string[] = []): Promise<Change[]> {
  const upper = await snapshotter.upperDir(key);
  const lowers = await snapshotter.lowerDirs(key);
  if (snapshotter.kind === 'overlay') return upperdirChanges({ upper, lowers, mountStubs });
  const empty = lowers[0] === undefined ? await mkdtemp(path.join(os.tmpdir(), 'tsbuild-empty-')) : undefined;
  try {
    return await doubleWalkChanges(lowers[0] ?? (empty as string), upper);
  } finally {
    if (empty) await rm(empty, { recursive: true, force: true });
  }
}
