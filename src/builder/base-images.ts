/**
 * Base images as snapshots: each layer is unpacked once into a committed snapshot named by its
 * chainID (`layer-<hex>`), on top of the previous layer's, so images sharing layers share
 * snapshots and a second build unpacks nothing.
 */
import { randomBytes } from 'node:crypto';
import { readFailure, type ContentStore } from '../content/store.js';
import { layerCompression } from '../archive/compression.js';
import { applyLayer } from '../diff/applier.js';
import { digestHex, digestOf, parseDigest, type Digest } from '../digest/digest.js';
import { DigestMismatchError } from '../digest/hashing.js';
import { isNotFound } from '../errors.js';
import type { Descriptor, Manifest } from '../image/oci-types.js';
import type { LayeredSnapshotter } from '../snapshot/layered.js';
import { ownerTag } from '../util/owner.js';

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
 * True when the manifest `digest`, its config and every layer are stored: a base image used as
 * stored. One that lost a blob (removed as damaged when read) is pulled again, which fetches only
 * what is missing.
 */
export async function imageComplete(store: ContentStore, digest: Digest): Promise<boolean> {
  if (!(await store.info(digest))) return false;
  const manifest = JSON.parse((await store.readBytes(digest)).toString('utf8')) as Partial<Manifest>;
  if (!manifest.config || !Array.isArray(manifest.layers)) return false;
  for (const blob of [manifest.config, ...manifest.layers]) if (!(await store.info(parseDigest(blob.digest)))) return false;
  return true;
}

/** Makes sure every layer has its snapshot; returns the top snapshot's name (undefined: no layers). */
export async function unpackLayers(
  layers: readonly Descriptor[],
  diffIDs: readonly string[],
  store: ContentStore,
  snapshotter: LayeredSnapshotter,
  signal?: AbortSignal,
): Promise<string | undefined> {
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
      await snapshotter.prepare(key, parent);
      try {
        const mode = snapshotter.kind === 'overlay' ? 'overlay' : 'plain';
        const diffID = await applyLayer(await store.reader(parseDigest(layer.digest), signal ? { signal } : {}), await snapshotter.upperDir(key), {
          mode,
          compression: layerCompression(layer.mediaType),
          ...(signal ? { signal } : {}),
        });
        if (diffID !== diffIDs[i]) throw new DigestMismatchError(diffIDs[i] ?? '', diffID, `layer ${layer.digest} (diffID)`);
        await snapshotter.commit(name, key);
      } catch (err) {
        await snapshotter.remove(key).catch(() => undefined); // the unpack error (or another unpacker's success) decides
        // Another build may have unpacked the same layer meanwhile; that is as good.
        if (
          !(await snapshotter.stat(name).then(
            () => true,
            () => false,
          ))
        )
          throw await readFailure(store, parseDigest(layer.digest), err);
      }
    }
    parent = name;
  }
  return parent;
}
