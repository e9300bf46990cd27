/**
 * The images a build starts from (`FROM`, `COPY --from=<image>`, `RUN --mount from=<image>`): taken
 * from the local store as docker does unless `--pull`, else pulled, once per reference and
 * platform (a multi-platform build needs an index's manifest for each); held by the build's lease; and
 * unpacked as snapshots, each layer once into a committed snapshot named by its chainID
 * (`layer-<hex>`) on top of the previous layer's, so images sharing layers share snapshots and a
 * second build unpacks nothing.
 */
import { randomBytes } from 'node:crypto';
import type { ContentStore } from '../content/store.js';
import { parseDocument } from '../image/documents.js';
import { digestHex, digestOf, parseDigest, type Digest } from '../digest/digest.js';
import { DigestMismatchError } from '../digest/hashing.js';
import { InternalError, isNotFound } from '../errors.js';
import type { Descriptor, ImageConfig, Manifest } from '../image/oci-types.js';
import { formatPlatform, parsePlatform } from '../image/platform.js';
import { recordFor } from '../images/image-record.js';
import type { ProgressSink } from '../progress/events.js';
import type { RegistryOptions } from '../registry/configured-client.js';
import { formatReference, parseReference } from '../registry/reference.js';
import { pullInto } from '../state/pull-into.js';
import type { StateRoot } from '../state/state-root.js';
import type { Lease } from '../util/lease.js';
import type { Applier } from '../diff/applier.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import { ownerTag } from '../util/owner.js';

/** A base image: its manifest's descriptor, config and layers. */
export interface BaseImage {
  manifest: Descriptor;
  config: ImageConfig;
  layers: Descriptor[];
}

/** The base images of one build, by reference and platform (one image may serve several). */
export class BaseImages {
  private readonly images = new Map<string, Promise<BaseImage>>();
  private readonly fetched = new Map<string, BaseImage>();
  private readonly tops = new Map<string, Promise<string | undefined>>();
  /** Images the build made or read itself (named contexts), for every platform. */
  private readonly registered = new Map<string, BaseImage>();
  /** References pulled by this build (not found in the local store): their FROM is not CACHED. */
  private readonly pulledRefs = new Set<string>();

  constructor(
    private readonly root: StateRoot,
    private readonly lease: Lease,
    private readonly options: RegistryOptions & { pull?: boolean; signal?: AbortSignal; progress?: ProgressSink },
  ) {}

  /** Makes sure `ref` is stored for `platform`: once per build, even when asked for at once. */
  fetch(ref: string, platform: string): Promise<BaseImage> {
    const key = imageKey(ref, platform);
    let image = this.images.get(key);
    const own = this.registered.get(ref);
    if (!image && own) {
      this.fetched.set(key, own);
      image = Promise.resolve(own);
      this.images.set(key, image);
    }
    if (!image) {
      image = this.load(ref, platform).then((loaded) => {
        this.fetched.set(key, loaded);
        return loaded;
      });
      this.images.set(key, image);
    }
    return image;
  }

  private async load(ref: string, platform: string): Promise<BaseImage> {
    const { root, lease, options } = this;
    // Like docker: a base already in the local store is used as is unless --pull. Leased before it
    // is looked at, so a concurrent prune cannot take it in between.
    const record = options.pull ? undefined : await root.images.get(formatReference(parseReference(ref)));
    const local = record ? recordFor(record, platform) : undefined;
    if (local) await lease.add({ blobs: [local.manifest.digest, local.config] });
    // One that lost a blob (removed as damaged when read) is pulled again, which fetches only what is missing.
    const stored = local && (await imageComplete(root.store, parseDigest(local.manifest.digest))) ? local : undefined;
    const digests = stored
      ? { digest: parseDigest(stored.manifest.digest), config: parseDigest(stored.config) }
      : await pullInto(root, ref, parsePlatform(platform), options).then((pulled) => {
          this.pulledRefs.add(ref);
          return pulled;
        });
    await lease.add({ blobs: [digests.digest, digests.config] });
    const manifest = JSON.parse((await root.store.readBytes(digests.digest)).toString()) as Manifest;
    const config = JSON.parse((await root.store.readBytes(digests.config)).toString()) as ImageConfig;
    await lease.add({ blobs: manifest.layers.map((l) => l.digest) });
    return { manifest: { mediaType: manifest.mediaType ?? '', digest: digests.digest, size: 0 }, config, layers: manifest.layers };
  }

  /**
   * Adds an image the build made or read itself (a named context) under `ref`, its blobs already
   * in the store; `fetch(ref)` then finds it.
   */
  async register(ref: string, image: BaseImage, configDigest: string): Promise<void> {
    await this.lease.add({ blobs: [image.manifest.digest, configDigest, ...image.layers.map((l) => l.digest)] });
    this.registered.set(ref, image);
  }

  /** Whether this build pulled `ref` (a cold build), rather than finding it stored. */
  pulled(ref: string): boolean {
    return this.pulledRefs.has(ref);
  }

  /** A fetched image. */
  get(ref: string, platform: string): BaseImage {
    const image = this.fetched.get(imageKey(ref, platform));
    if (!image) throw new InternalError(`base image ${ref} (${platform}) was not fetched`);
    return image;
  }

  /** Every fetched image. */
  all(): BaseImage[] {
    return [...this.fetched.values()];
  }

  /** The committed snapshot of the image's top layer (undefined: no layers), unpacked once per build. */
  top(ref: string, platform: string, snapshotter: Snapshotter, applier: Applier): Promise<string | undefined> {
    const key = imageKey(ref, platform);
    let top = this.tops.get(key);
    if (!top) {
      const { layers, config } = this.get(ref, platform);
      const diffIDs = config.rootfs.diff_ids;
      top = this.lease.add({ snapshots: chainIDs(diffIDs).map(layerSnapshotName) }).then(() =>
        unpackLayers(layers, diffIDs, snapshotter, applier, {
          ...(this.options.signal ? { signal: this.options.signal } : {}),
          ...(this.options.progress ? { progress: this.options.progress } : {}),
        }),
      );
      this.tops.set(key, top);
    }
    return top;
  }
}

function imageKey(ref: string, platform: string): string {
  return `${ref} ${formatPlatform(parsePlatform(platform))}`;
}

/** True when the manifest `digest`, its config and every layer are stored. */
export async function imageComplete(store: ContentStore, digest: Digest): Promise<boolean> {
  if (!(await store.info(digest))) return false;
  const manifest = parseDocument('manifest', await store.readBytes(digest), `stored manifest ${digest}`);
  for (const blob of [manifest.config, ...manifest.layers]) if (!(await store.info(parseDigest(blob.digest)))) return false;
  return true;
}

/** The chainIDs of a list of diffIDs (OCI image-spec config.md). */
export function chainIDs(diffIDs: readonly string[]): Digest[] {
  const out: Digest[] = [];
  for (const diffID of diffIDs) {
    const previous = out[out.length - 1];
    out.push(previous === undefined ? parseDigest(diffID) : digestOf(`${previous} ${diffID}`));
  }
  return out;
}

/** The committed snapshot holding a base image's layers up to the one with this chainID. */
export function layerSnapshotName(chainID: Digest): string {
  return `layer-${digestHex(chainID)}`;
}

/**
 * Makes sure every layer has its snapshot; returns the top snapshot's name (undefined: no layers).
 * Each layer it unpacks is reported on `progress` (`extract` events), as BuildKit's `extracting`.
 */
export async function unpackLayers(
  layers: readonly Descriptor[],
  diffIDs: readonly string[],
  snapshotter: Snapshotter,
  applier: Applier,
  options: { signal?: AbortSignal; progress?: ProgressSink } = {},
): Promise<string | undefined> {
  const { signal, progress } = options;
  const chain = chainIDs(diffIDs);
  let parent: string | undefined;
  for (const [i, layer] of layers.entries()) {
    const name = layerSnapshotName(chain[i] as Digest);
    const exists = await snapshotter.stat(name).then(
      () => true,
      (err: unknown) => (isNotFound(err) ? false : Promise.reject(err)),
    );
    if (!exists) {
      const key = `unpack-${ownerTag()}-${randomBytes(8).toString('hex')}`;
      const mounts = await snapshotter.prepare(key, parent);
      const label = layer.digest.slice(7, 19);
      const began = Date.now();
      progress?.emit({ type: 'extract', id: layer.digest, label });
      try {
        const diffID = await applier.apply(layer, mounts, signal ? { signal } : {});
        if (diffID !== diffIDs[i]) throw new DigestMismatchError(diffIDs[i] ?? '', diffID, `layer ${layer.digest} (diffID)`);
        await snapshotter.commit(name, key);
        progress?.emit({ type: 'extract', id: layer.digest, label, done: true, seconds: (Date.now() - began) / 1000 });
      } catch (err) {
        await snapshotter.remove(key).catch(() => undefined); // the unpack error (or another unpacker's success) decides
        // Another build may have unpacked the same layer meanwhile; that is as good.
        if (
          !(await snapshotter.stat(name).then(
            () => true,
            () => false,
          ))
        )
          throw err;
      }
    }
    parent = name;
  }
  return parent;
}
