/**
 * Every Differ/Applier pairing runs the conformance suite: the state root's own (what a build
 * uses: `MountDiffer` writing uncompressed layers, `StoreApplier`) over each snapshotter, whose
 * mounts take the differ down a different path (a first snapshot is a bind: the two-tree walk; an
 * overlay's upper dir with the kernel's trusted.* or user.* markers, or fuse-overlayfs's own), and
 * `MountDiffer` with its gzip default (what a library caller gets) over kernel overlay.
 */
import { existsSync } from 'node:fs';
import { LocalContentStore } from '../../src/content/local-store.js';
import { StoreApplier } from '../../src/diff/applier.js';
import { MountDiffer } from '../../src/diff/differ.js';
import { MediaType } from '../../src/image/oci-types.js';
import { CopyingSnapshotter } from '../../src/snapshot/copying.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import type { Snapshotter } from '../../src/snapshot/snapshotter.js';
import { StateRoot } from '../../src/state/state-root.js';
import { differSuite } from '../suites/differ.js';

const snapshotters: Array<[path: string, make: (root: string) => Snapshotter]> = [
  ['overlay (upper-dir fast path)', (root) => new OverlaySnapshotter(root)],
  // A rootless build's: overlayfs keeps its markers in user.overlay.*, read there by the differ, written there by the applier.
  ['overlay with userxattr (upper-dir fast path, user.overlay.* markers)', (root) => new OverlaySnapshotter(root, { userXattr: true })],
  ['copying (two-tree walk)', (root) => new CopyingSnapshotter(root)],
];
// The same directories served by fuse-overlayfs, whose markers the differ reads; skipped where it is not installed.
if (existsSync('/usr/bin/fuse-overlayfs'))
  snapshotters.push(['fuse-overlayfs (upper-dir fast path, its markers)', (root) => new OverlaySnapshotter(root, { fuse: true })]);

for (const [name, snapshotter] of snapshotters) {
  differSuite(`StateRoot differ and applier over ${name}`, async (root) => {
    const state = await StateRoot.open(root);
    return { snapshotter: snapshotter(root), differ: state.differ, applier: state.applier, store: state.store, layerMediaType: MediaType.OciLayer };
  });
}

differSuite('MountDiffer (gzip) and StoreApplier over overlay', async (root) => {
  const store = new LocalContentStore(root);
  return {
    snapshotter: new OverlaySnapshotter(root),
    differ: new MountDiffer(store, root),
    applier: new StoreApplier(store),
    store,
    layerMediaType: MediaType.OciLayerGzip,
  };
});
