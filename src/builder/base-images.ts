/**
 * Base images as snapshots: each layer is unpacked once into a committed snapshot named by its
 * chainID (`layer-<hex>`), on top of the previous layer's, so images sharing layers share
 * snapshots and a second build unpacks nothing.
 */
import { randomBytes } from 'node:crypto';
import { digestHex, digestOf, parseDigest, type Digest } from '../digest/digest.js';
import { DigestMismatchError } from '../digest/hashing.js';
import { isNotFound } from '../errors.js';
import type { Descriptor } from '../image/oci-types.js';
import type { Applier } from '../diff/applier.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
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

/** Makes sure every layer has its snapshot; returns the top snapshot's name (undefined: no layers). */
export async function unpackLayers(
  layers: readonly Descriptor[],
  diffIDs: readonly string[],
  snapshotter: Snapshotter,
  applier: Applier,
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
      const mounts = await snapshotter.prepare(key, parent);
      try {
        const diffID = await applier.apply(layer, mounts, signal ? { signal } : {});
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
          throw err;
      }
    }
    parent = name;
  }
  return parent;
}
