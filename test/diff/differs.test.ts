import { existsSync } from 'node:fs';
import { CopyingSnapshotter } from '../../src/snapshot/copying.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { differSuite } from '../suites/differ.js';

differSuite('overlay (upper-dir fast path)', (root) => new OverlaySnapshotter(root));
differSuite('copying (two-tree walk)', (root) => new CopyingSnapshotter(root));
if (existsSync('/usr/bin/fuse-overlayfs'))
  differSuite('fuse-overlayfs (upper-dir fast path, its markers)', (root) => new OverlaySnapshotter(root, { fuse: true }));
