import { CopyingSnapshotter } from '../../src/snapshot/copying.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { snapshotterSuite } from '../suites/snapshotter.js';

snapshotterSuite('OverlaySnapshotter', (root) => new OverlaySnapshotter(root));
snapshotterSuite('CopyingSnapshotter', (root) => new CopyingSnapshotter(root));
