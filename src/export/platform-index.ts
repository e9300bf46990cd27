/**
 * A multi-platform image: one image per platform under an image index (an OCI index, or a Docker
 * manifest list with `oci-mediatypes=false`), listing each manifest with its platform in the
 * order the platforms were asked for, as BuildKit's image exporter writes it. The index is one
 * more blob in the content store; the images are stored as they are.
 */
import { Readable } from 'node:stream';
import type { ContentStore } from '../content/store.js';
import { canonicalJson, digestOf, parseDigest } from '../digest/digest.js';
import { NotFoundError } from '../errors.js';
import { MediaType, type Descriptor, type Index } from '../image/oci-types.js';
import { formatPlatform } from '../image/platform.js';
import { readStoredImage, type HoldBlobs, type StoredImage } from './stored-image.js';

/** An index in the content store with its images. */
export interface StoredIndex {
  descriptor: Descriptor;
  index: Index;
  images: StoredImage[];
}

/** The platform an image's config names, as a descriptor carries it. */
export function imagePlatform(image: StoredImage): NonNullable<Descriptor['platform']> {
  const { os, architecture, variant } = image.config;
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** The directory a platform's files go to in `local` and `tar` outputs (`linux_arm64_v8`, BuildKit's naming). */
export function platformDirectory(image: StoredImage): string {
  return formatPlatform(imagePlatform(image)).replaceAll('/', '_');
}

/** Writes the index of `images` (its media type follows the manifests'); returns it. */
export async function writeIndex(store: ContentStore, images: readonly StoredImage[], ociMediaTypes: boolean): Promise<StoredIndex> {
  const mediaType = ociMediaTypes ? MediaType.OciIndex : MediaType.DockerManifestList;
  const index: Index = {
    schemaVersion: 2,
    mediaType,
    manifests: images.map((image) => ({ ...image.descriptor, platform: imagePlatform(image) })),
  };
  const bytes = Buffer.from(canonicalJson(index));
  const digest = digestOf(bytes);
  await store.ingest(Readable.from([bytes]), { digest, size: bytes.length });
  return { descriptor: { mediaType, digest, size: bytes.length }, index, images: [...images] };
}

/** Reads the index `descriptor` names and every image it lists (all must be stored: a built index). */
export async function readStoredIndex(store: ContentStore, descriptor: Descriptor, hold?: HoldBlobs): Promise<StoredIndex> {
  await hold?.([descriptor.digest]);
  const index = JSON.parse((await store.readBytes(parseDigest(descriptor.digest))).toString('utf8')) as Index;
  const images: StoredImage[] = [];
  await hold?.(index.manifests.map((m) => m.digest));
  for (const m of index.manifests) {
    if (!(await store.info(parseDigest(m.digest)))) {
      const platform = m.platform ? formatPlatform(m.platform) : m.digest;
      throw new NotFoundError(`the index ${descriptor.digest} lists ${platform}, which is not in the local store`, {
        hint: 'pull it with --all-platforms, or push the platform images one by one',
      });
    }
    images.push(await readStoredImage(store, m.digest, hold));
  }
  return { descriptor, index, images };
}
