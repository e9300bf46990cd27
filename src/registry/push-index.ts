/**
 * Pushing an image index: every platform's image first, each manifest by its digest (its blobs
 * before it, `push-image.ts`), then the index under the name. A registry checks that an index's
 * manifests exist, and a reader that finds the tag finds every image it lists.
 */
import type { ContentStore } from '../content/store.js';
import { parseDigest, type Digest } from '../digest/digest.js';
import type { Descriptor } from '../image/oci-types.js';
import type { BlobSources } from './blob-sources.js';
import type { RegistryClient } from './client.js';
import { pushImage, type PushedImage, type PushImageOptions, type PushResult } from './push-image.js';
import { formatReference, manifestReference, parseReference, repositoryName } from './reference.js';
import { RepositoryWriter } from './repository-writer.js';

/** What is pushed: the index's descriptor (its bytes are in the store) and its images. */
export interface PushedIndex {
  descriptor: Descriptor;
  images: readonly PushedImage[];
}

/** Pushes `index` and its images to the registry as `name`; the result sums the images' blobs. */
export async function pushIndex(
  index: PushedIndex,
  name: string,
  where: { store: ContentStore; client: RegistryClient; sources: BlobSources },
  options: PushImageOptions = {},
): Promise<PushResult> {
  const ref = parseReference(name);
  const repository = repositoryName(ref);
  const pushed: PushResult[] = [];
  // One platform after another: each already pushes its blobs in parallel, and layers the
  // platforms share are then found by HEAD instead of uploaded twice.
  for (const image of index.images) pushed.push(await pushImage(image, `${repository}@${image.descriptor.digest}`, where, options));
  const bytes = await where.store.readBytes(parseDigest(index.descriptor.digest));
  const writer = new RepositoryWriter(where.client, ref);
  const digest: Digest = await writer.putManifest(manifestReference(ref), index.descriptor.mediaType, bytes, options.signal);
  options.progress?.emit({ type: 'message', text: `${formatReference(ref)}: pushed index ${digest} (${index.images.length} platforms)` });
  const sum = (pick: (r: PushResult) => number): number => pushed.reduce((total, r) => total + pick(r), 0);
  return {
    name: formatReference(ref),
    digest,
    uploaded: sum((r) => r.uploaded),
    mounted: sum((r) => r.mounted),
    existing: sum((r) => r.existing),
    uploadedBytes: sum((r) => r.uploadedBytes),
  };
}
