/**
 * `tsbuild/storage`: the contracts the build runs on, and their implementations — content stores,
 * snapshotters, differ and applier, executor — and the state root that composes them.
 */
export type { ContentStore, ContentWriter, BlobInfo, Expected } from '../content/store.js';
export { LocalContentStore } from '../content/local-store.js';
export { MemoryContentStore } from '../content/memory-store.js';
export type { Snapshotter, ManagedSnapshotter, Mount, SnapshotInfo } from '../snapshot/snapshotter.js';
export { OverlaySnapshotter } from '../snapshot/overlay.js';
export { CopyingSnapshotter } from '../snapshot/copying.js';
export { selectSnapshotter } from '../snapshot/select.js';
export { overlayParts, bindSource, writeTarget } from '../snapshot/mount-data.js';
export { MountDiffer, type Differ } from '../diff/differ.js';
export { StoreApplier, applyLayer, type Applier, type ApplyOptions } from '../diff/applier.js';
export type { LayerResult, WriteLayerOptions } from '../diff/layer-writer.js';
export type { Executor, ExecOptions, ExitStatus, ProcessNetwork } from '../runtime/executor.js';
export type { ProcessSpec, ProcessUser, ContainerMount, NetworkNamespace } from '../runtime/oci-spec.js';
export { RuncExecutor } from '../runtime/runc.js';
export { StateRoot, stateRootPath, type ReclaimResult } from '../state/state-root.js';
export { ImageIndex, type ImageRecord } from '../images/image-index.js';
export { parseDigest, digestOf, type Digest } from '../digest/digest.js';
export { readStoredImage, imageVariant, type StoredImage } from '../export/stored-image.js';
