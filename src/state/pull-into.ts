/**
 * Pulling an image into a state root and naming it there: the registry copy (`registry/pull-image.ts`)
 * under a lease, then the image record and where its blobs came from (for cross-repository mounts
 * on push). Shared by `tsbuild pull` and the builds' base images.
 */
import type { Digest } from '../digest/digest.js';
import type { ImageRecord } from '../images/image-index.js';
import { mergePulled } from '../images/image-record.js';
import type { Descriptor } from '../image/oci-types.js';
import { formatPlatform, type Platform } from '../image/platform.js';
import { registryClient, type RegistryOptions } from '../registry/configured-client.js';
import { pullImage, type PullImageOptions } from '../registry/pull-image.js';
import { formatReference, parseReference } from '../registry/reference.js';
import type { StateRoot } from './state-root.js';

/** What a pull did. */
export interface PullResult {
  name: string;
  /** The platform manifest's digest. */
  digest: Digest;
  /** The config digest (the image id). */
  config: Digest;
  platform: string;
  layers: number;
  /** Layers fetched now; the rest were already stored. */
  downloaded: number;
  downloadedBytes: number;
}

export async function pullInto(
  root: StateRoot,
  reference: string,
  platform: Platform,
  options: RegistryOptions & Omit<PullImageOptions, 'hold'> = {},
): Promise<PullResult> {
  const ref = parseReference(reference);
  const name = formatReference(ref);
  const lease = await root.lease();
  try {
    const pulled = await pullImage(
      ref,
      platform,
      { store: root.store, client: await registryClient(options) },
      { ...options, hold: (blobs) => lease.add({ blobs }) },
    );
    const { image } = pulled;
    const record: ImageRecord = {
      name,
      target: descriptorOf(image.index ?? image.manifest),
      manifest: descriptorOf(image.manifest),
      config: image.config.digest,
      ...(image.config.parsed.created ? { created: image.config.parsed.created } : {}),
      platform: formatPlatform(image.platform),
      size: image.parsedManifest.layers.reduce((sum, l) => sum + l.size, 0),
      updated: new Date().toISOString(),
    };
    await root.images.update(name, (current) => mergePulled(current, record));
    await root.blobSources.add([image.config.digest, ...image.parsedManifest.layers.map((l) => l.digest)], ref.domain, ref.path);
    return {
      name,
      digest: image.manifest.digest,
      config: image.config.digest,
      platform: record.platform,
      layers: image.parsedManifest.layers.length,
      downloaded: pulled.downloaded,
      downloadedBytes: pulled.downloadedBytes,
    };
  } finally {
    await lease.close();
  }
}

function descriptorOf(m: { digest: Digest; mediaType: string; bytes: Buffer }): Descriptor {
  return { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
}
