/**
 * Picks the snapshotter for a state root: overlay where it mounts, the copying fallback otherwise,
 * saying so once (through `notice`).
 */
import { CopyingSnapshotter } from './copying.js';
import { overlaySupported, type LayeredSnapshotter } from './layered.js';
import { OverlaySnapshotter } from './overlay.js';

export async function selectSnapshotter(root: string, notice: (message: string) => void = () => undefined): Promise<LayeredSnapshotter> {
  if (await overlaySupported(root)) return new OverlaySnapshotter(root);
  notice(`overlayfs is not available under ${root}: using the copying snapshotter (slower, more disk)`);
  return new CopyingSnapshotter(root);
}
