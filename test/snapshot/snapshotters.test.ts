import { existsSync } from 'node:fs';
import { CopyingSnapshotter } from '../../src/snapshot/copying.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { snapshotterSuite } from '../suites/snapshotter.js';

snapshotterSuite('OverlaySnapshotter', (root) => new OverlaySnapshotter(root));
snapshotterSuite('CopyingSnapshotter', (root) => new CopyingSnapshotter(root));
// The same directories served by fuse-overlayfs (root may mount it too); skipped where it is not installed.
if (existsSync('/usr/bin/fuse-overlayfs'))
  snapshotterSuite('OverlaySnapshotter (fuse-overlayfs)', (root) => new OverlaySnapshotter(root, { fuse: true }));
