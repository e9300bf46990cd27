/**
 * What the build needs from a snapshotter beyond the containerd contract: where a snapshot's own
 * files are and what it sits on, so changes can be found; and the choice between overlay and the
 * copying fallback.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Snapshotter } from './snapshotter.js';
import { makeScratch } from '../util/scratch.js';
import { runTool, runToolChecked } from '../util/tool-runner.js';

/** A snapshotter whose snapshots are directories on this machine. */
export interface LayeredSnapshotter extends Snapshotter {
  /** `overlay`: upper dirs hold only changes; `copying`: every snapshot is a whole tree. */
  readonly kind: 'overlay' | 'copying';
  /** The directory all its snapshots live in. */
  readonly dir: string;
  /** The directory holding the snapshot's own files. */
  upperDir(key: string): Promise<string>;
  /** What it sits on: the lower layers (overlay, nearest first) or the parent's whole tree (copying). */
  lowerDirs(key: string): Promise<string[]>;
  /** Removes active snapshots left by processes that no longer run; returns their keys. */
  removeStale(): Promise<string[]>;
  /** Removes snapshot directories no record names (a kill between the two); returns their names. */
  removeOrphans(): Promise<string[]>;
}

/** True when an overlay mount works under `root` (the kernel has it and the filesystem allows it). */
export async function overlaySupported(root: string): Promise<boolean> {
  await mkdir(root, { recursive: true });
  // A scratch directory (named after this process), so a probe killed while mounted is reclaimed.
  const dir = await makeScratch(root, 'overlaycheck');
  try {
    for (const d of ['lower', 'upper', 'work', 'merged']) await mkdir(path.join(dir, d));
    if (
      (await runTool('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work`, `${dir}/merged`]))
        .code !== 0
    )
      return false;
    await runToolChecked('umount', [`${dir}/merged`]);
    return true;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
