import { CopyingSnapshotter } from '../../src/snapshot/copying.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { differSuite } from '../suites/differ.js';

differSuite('overlay (upper-dir fast path)', (root) => new OverlaySnapshotter(root));
differSuite('copying (two-tree walk)', (root) => new CopyingSnapshotter(root));
