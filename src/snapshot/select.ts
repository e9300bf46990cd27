/**
 * Picks the snapshotter for a state root: overlay where it mounts, the copying fallback otherwise,
 * saying so once (through `notice`). The choice is probed once (a test mount) and recorded in the
 * root (`snapshotter`), so later builds skip the probe and a root never mixes the two kinds.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { CopyingSnapshotter } from './copying.js';
import { overlaySupported } from './overlay-probe.js';
import type { ManagedSnapshotter } from './snapshotter.js';
import { OverlaySnapshotter } from './overlay.js';
import { readTextIfExists } from '../util/absent.js';

export async function selectSnapshotter(root: string, notice: (message: string) => void = () => undefined): Promise<ManagedSnapshotter> {
  const record = path.join(root, 'snapshotter');
  const recorded = ((await readTextIfExists(record)) ?? '').trim();
  const kind = recorded === 'overlay' || recorded === 'copying' ? recorded : (await overlaySupported(root)) ? 'overlay' : 'copying';
  if (kind !== recorded) {
    await mkdir(root, { recursive: true });
    await writeFileAtomic(record, `${kind}\n`);
  }
  if (kind === 'overlay') return new OverlaySnapshotter(root);
  notice(`overlayfs is not available under ${root}: using the copying snapshotter (slower, more disk)`);
  return new CopyingSnapshotter(root);
}
