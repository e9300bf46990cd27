/**
 * Picks the snapshotter for a state root: overlay where it mounts, the copying fallback otherwise,
 * saying so once (through `notice`). The choice is probed once (a test mount) and recorded in the
 * root (`snapshotter`), so later builds skip the probe and a root never mixes the two kinds.
 * `warn` hears of a damaged metadata file (set aside, `snapshot/metadata.ts`).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { CopyingSnapshotter } from './copying.js';
import { overlaySupported, type LayeredSnapshotter } from './layered.js';
import { OverlaySnapshotter } from './overlay.js';
import { readTextIfExists } from '../util/absent.js';
import type { Warn } from '../util/set-aside.js';

/**
 * The snapshotter a root has used, without probing: undefined on a root where no build has chosen
 * one yet (it then holds no snapshots). For commands that only clean up.
 */
export async function recordedSnapshotter(root: string, warn?: Warn): Promise<LayeredSnapshotter | undefined> {
  const recorded = ((await readTextIfExists(path.join(root, 'snapshotter'))) ?? '').trim();
  if (recorded === 'overlay') return new OverlaySnapshotter(root, warn);
  if (recorded === 'copying') return new CopyingSnapshotter(root, warn);
  return undefined;
}

export async function selectSnapshotter(
  root: string,
  notice: (message: string) => void = () => undefined,
  warn: Warn = notice,
): Promise<LayeredSnapshotter> {
  const record = path.join(root, 'snapshotter');
  const recorded = ((await readTextIfExists(record)) ?? '').trim();
  const kind = recorded === 'overlay' || recorded === 'copying' ? recorded : (await overlaySupported(root)) ? 'overlay' : 'copying';
  if (kind !== recorded) {
    await mkdir(root, { recursive: true });
    await writeFileAtomic(record, `${kind}\n`);
  }
  if (kind === 'overlay') return new OverlaySnapshotter(root, warn);
  notice(`overlayfs is not available under ${root}: using the copying snapshotter (slower, more disk)`);
  return new CopyingSnapshotter(root, warn);
}
