/**
 * `push`: copy a local image to its registry (`registry/push-image.ts` does the transfer: HEAD,
 * cross-repository mounts, uploads, manifest last); a multi-platform image as its index
 * (`registry/push-index.ts`).
 */
import { readStoredIndex } from '../export/platform-index.js';
import { readStoredImage } from '../export/stored-image.js';
import { pushIndex } from '../registry/push-index.js';
import { registryClient } from '../registry/configured-client.js';
import { compressForExport, exportContext } from '../export/recompress.js';
import { pushImage, type PushImageOptions, type PushResult } from '../registry/push-image.js';
import { StateRoot } from '../state/state-root.js';
import { InvalidArgumentError } from '../errors.js';
import { isDangling } from '../images/image-index.js';
import { imageRecord } from '../images/image-record.js';
import { lookupImage } from './image-lookup.js';
import type { CommonOptions, RegistryOptions } from './options.js';

export type { PushResult } from '../registry/push-image.js';

export interface PushOptions extends CommonOptions, RegistryOptions, Pick<PushImageOptions, 'jobs' | 'chunkSize'> {}

/**
 * Pushes the local image named `name` (`tsbuild push NAME`) to the registry the name names. An id
 * or digest (`push sha256:…`) pushes the image under its one name; one with several names or none
 * cannot say where to go.
 */
export async function push(name: string, options: PushOptions = {}): Promise<PushResult> {
  const root = await StateRoot.open(options.root, options.progress);
  const { records, byId } = await lookupImage(root.images, name);
  const named = records.filter((r) => !isDangling(r));
  const record = named[0];
  if (!record || (byId && named.length > 1)) {
    const known = named.length > 1 ? ` (it has ${named.length}: ${named.map((r) => r.name).join(', ')})` : ' (it has none)';
    throw new InvalidArgumentError(`cannot push ${name}: the image needs exactly one name to push to${known}`, {
      hint: 'push by name, after tsbuild tag ID NAME if needed',
    });
  }
  // Ingest files, leases and the rest a killed push (or build) left go first.
  await root.reclaim();
  // Every blob the push reads (the image's, a conversion made earlier) is leased before it is read,
  // and what compressing writes is newer than the lease: a concurrent prune keeps them all.
  const lease = await root.lease();
  try {
    const hold = (blobs: readonly string[]): Promise<void> => lease.add({ blobs });
    const where = { store: root.store, client: await registryClient(options), sources: root.blobSources };
    // A multi-platform image goes as it was built: every platform, then its index.
    if (record.platforms) return await pushIndex(await readStoredIndex(root.store, record.target, hold), record.name, where, options);
    // A build keeps its layers uncompressed in the store: they go gzipped, as an output of the build would send them.
    const stored = await readStoredImage(root.store, record.manifest.digest, hold);
    const image = await compressForExport(stored, exportContext(root, options.signal, hold));
    const pushed = await pushImage(image, record.name, where, options);
    // The name now stands for what its registry holds (the same image id), so the digest the push
    // printed reaches the image here too, as a repo digest does in docker.
    if (image !== stored) await root.images.put(imageRecord(record.name, image));
    return pushed;
  } finally {
    await lease.close();
  }
}
