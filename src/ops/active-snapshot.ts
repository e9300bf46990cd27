/**
 * The frame every step that changes files runs in: a fresh active snapshot on the parent and a
 * scratch directory; the snapshot is removed if the work fails, the scratch directory always.
 * Keys carry the process id so a later tsbuild can remove what a killed one left (`removeStale`).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LayeredSnapshotter } from '../snapshot/layered.js';
import type { Mount } from '../snapshot/snapshotter.js';

/** What the work gets: the active key, its mounts, and a private scratch directory. */
export interface ActiveSnapshot {
  key: string;
  mounts: Mount[];
  scratch: string;
}

export async function withActiveSnapshot<T>(
  snapshotter: LayeredSnapshotter,
  parent: string | undefined,
  kind: string,
  work: (active: ActiveSnapshot) => Promise<T>,
): Promise<T> {
  const key = `${kind}-${process.pid}-${randomBytes(8).toString('hex')}`;
  const scratch = await mkdtemp(path.join(os.tmpdir(), `tsbuild-${kind}-`));
  try {
    const mounts = await snapshotter.prepare(key, parent);
    return await work({ key, mounts, scratch });
  } catch (err) {
    await snapshotter.remove(key).catch(() => undefined);
    throw err;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
