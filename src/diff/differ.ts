/**
 * The differ contract (containerd's `Comparer`, BuildKit's differ): the layer of what an active
 * snapshot changed over its parent, computed from their mounts and written to the content store.
 * `MountDiffer` takes the fast path where the snapshot is an overlay, of the kernel or of
 * fuse-overlayfs (its upper dir holds exactly the changes; `overlay-changes.ts`) and walks both trees otherwise (`walk-changes.ts`). The upper dir's
 * extended attributes are read once (one `getfattr`) for both the opaque markers and the layer.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { ContentStore } from '../content/store.js';
import { InvalidArgumentError } from '../errors.js';
import { removeTree, withMounted } from '../runtime/mount.js';
import { bindSource, overlayParts } from '../snapshot/mount-data.js';
import type { Mount } from '../snapshot/snapshotter.js';
import { xattrsUnder } from '../util/native.js';
import { makeScratch } from '../util/scratch.js';
import { writeLayer, type LayerResult, type WriteLayerOptions } from './layer-writer.js';
import { isFuseAttribute } from './fuse-markers.js';
import { upperdirChanges } from './overlay-changes.js';
import { doubleWalkChanges } from './walk-changes.js';

/** What the differ takes besides the layer writer's options. */
export interface DiffOptions extends WriteLayerOptions {
  /**
   * Directories (relative paths) whose entries the step changed where the upper dir may not show
   * it: the runtime's mount points, made and removed again. overlayfs gives them the step's time; a
   * fuse-overlayfs upper dir would otherwise pass for copy-ups only (`fuse-markers.ts`).
   */
  entriesChanged?: readonly string[];
}

export interface Differ {
  /**
   * The layer of what `upper` (an active snapshot's mounts) changed over `lower` (its parent's
   * read-only mounts, none for a first layer), written to the content store. `lower` is asked for
   * only when the differ needs it.
   */
  diff(upper: readonly Mount[], lower: () => Promise<readonly Mount[]>, options?: DiffOptions): Promise<LayerResult>;
  /**
   * Whether diffing `upper` only reads it, so that the layer may be written after the snapshot is
   * committed and others build on it; false where the differ first corrects the upper dir.
   */
  readsOnly(upper: readonly Mount[]): boolean;
}

/**
 * A differ for overlay and whole-tree (bind) snapshots; scratch space under the state root `root`.
 * `compression` is how its layers are written unless a call says otherwise (a build: uncompressed).
 */
export class MountDiffer implements Differ {
  constructor(
    private readonly store: ContentStore,
    private readonly root: string,
    private readonly compression: 'gzip' | 'uncompressed' = 'gzip',
  ) {}

  /** A fuse-overlayfs upper dir gets its copy-up-only directories' times put back while it is walked. */
  readsOnly(upper: readonly Mount[]): boolean {
    return overlayParts(upper)?.format !== 'fuse-overlayfs';
  }

  async diff(upper: readonly Mount[], lower: () => Promise<readonly Mount[]>, diffOptions: DiffOptions = {}): Promise<LayerResult> {
    const { entriesChanged, ...given } = diffOptions;
    const options = { compression: this.compression, ...given };
    const overlay = overlayParts(upper);
    if (overlay?.upper !== undefined) {
      // getfattr reads the attributes (another process) while the upper dir is walked.
      const reading = xattrsUnder(overlay.upper);
      reading.catch(() => undefined); // awaited by the walk, then here
      const changes = await upperdirChanges({
        upper: overlay.upper,
        lowers: overlay.lowers,
        xattrs: reading,
        xattrPrefix: overlay.xattrPrefix,
        format: overlay.format,
        ...(entriesChanged ? { entriesChanged } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const xattrs = await reading;
      const fileXattrs = overlay.format === 'fuse-overlayfs' ? withoutFuseAttributes(xattrs) : xattrs;
      return writeLayer(changes, overlay.upper, this.store, { ...options, xattrs: fileXattrs });
    }
    const tree = bindSource(upper);
    if (tree === undefined) throw new InvalidArgumentError(`cannot diff ${JSON.stringify(upper)}: neither an overlay nor a bind mount`);
    return this.withTree(await lower(), async (lowerTree) => writeLayer(await doubleWalkChanges(lowerTree, tree), tree, this.store, options));
  }

  /** Runs `fn` on a directory showing `mounts`: a bind's source, an empty directory, or a mount. */
  private async withTree<T>(mounts: readonly Mount[], fn: (dir: string) => Promise<T>): Promise<T> {
    const direct = bindSource(mounts);
    if (direct !== undefined) return fn(direct);
    const scratch = await makeScratch(this.root, 'diff');
    try {
      const dir = path.join(scratch, 'lower');
      await mkdir(dir);
      return mounts.length === 0 ? await fn(dir) : await withMounted(mounts, dir, fn);
    } finally {
      await removeTree(scratch);
    }
  }
}

/** The xattrs without fuse-overlayfs's own (the copy-up origin, its opaque mark). */
function withoutFuseAttributes(xattrs: ReadonlyMap<string, ReadonlyMap<string, Buffer>>): Map<string, Map<string, Buffer>> {
  return new Map([...xattrs].map(([file, attrs]) => [file, new Map([...attrs].filter(([name]) => !isFuseAttribute(name)))]));
}
