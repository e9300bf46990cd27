/**
 * An image in the content store, read back by its manifest digest, and variants of it: the same
 * config and layers under Docker schema 2 media types or with manifest annotations. A variant is a
 * new manifest (so a new digest) over the same blobs.
 */
import { Readable } from 'node:stream';
import type { ContentStore } from '../content/store.js';
import { canonicalJson, digestOf, parseDigest } from '../digest/digest.js';
import { UnsupportedError } from '../errors.js';
import { MANIFEST_TYPES, MediaType, type Descriptor, type ImageConfig, type Manifest } from '../image/oci-types.js';

/** A single-platform image: its manifest descriptor, manifest and config. */
export interface StoredImage {
  descriptor: Descriptor;
  manifest: Manifest;
  config: ImageConfig;
}

/**
 * Puts blobs already stored under the caller's lease before they are read (`util/lease.ts`), so a
 * concurrent prune keeps them; none when the caller holds no lease.
 */
export type HoldBlobs = (digests: readonly string[]) => Promise<void>;

/**
 * Reads the image whose manifest is `digest`; `hold` takes the manifest before it is read, and the
 * config and layers it names before anything reads them.
 */
export async function readStoredImage(store: ContentStore, digest: string, hold?: HoldBlobs): Promise<StoredImage> {
  await hold?.([digest]);
  const bytes = await store.readBytes(parseDigest(digest));
  const manifest = JSON.parse(bytes.toString('utf8')) as Manifest;
  const mediaType = manifest.mediaType ?? MediaType.OciManifest;
  if (!MANIFEST_TYPES.includes(mediaType)) throw new UnsupportedError(`${digest} is a ${mediaType}, not an image manifest`);
  await hold?.([manifest.config.digest, ...manifest.layers.map((l) => l.digest)]);
  const config = JSON.parse((await store.readBytes(parseDigest(manifest.config.digest))).toString('utf8')) as ImageConfig;
  return { descriptor: { mediaType, digest, size: bytes.length }, manifest, config };
}

/** How an output wants the manifest written. */
export interface VariantOptions {
  ociMediaTypes: boolean;
  annotations: Record<string, string>;
  /** Leases the variant's manifest before it is stored (an earlier one may be there already). */
  hold?: HoldBlobs;
}

const TO_DOCKER: Record<string, string> = {
  [MediaType.OciConfig]: MediaType.DockerConfig,
  [MediaType.OciLayerGzip]: MediaType.DockerLayerGzip,
  [MediaType.OciLayer]: 'application/vnd.docker.image.rootfs.diff.tar',
};
const TO_OCI: Record<string, string> = Object.fromEntries(Object.entries(TO_DOCKER).map(([oci, docker]) => [docker, oci]));

/** The image with the wanted media types and annotations; `image` itself when nothing changes. */
export async function imageVariant(store: ContentStore, image: StoredImage, options: VariantOptions): Promise<StoredImage> {
  const mapping = options.ociMediaTypes ? TO_OCI : TO_DOCKER;
  const hasAnnotations = Object.keys(options.annotations).length > 0;
  if (!options.ociMediaTypes && hasAnnotations) throw new UnsupportedError('manifest annotations need OCI media types (oci-mediatypes=true)');
  const retype = (d: Descriptor): Descriptor => ({ ...d, mediaType: mapping[d.mediaType] ?? d.mediaType });
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: options.ociMediaTypes ? MediaType.OciManifest : MediaType.DockerManifest,
    config: retype(image.manifest.config),
    layers: image.manifest.layers.map(retype),
    ...(hasAnnotations || image.manifest.annotations ? { annotations: { ...image.manifest.annotations, ...options.annotations } } : {}),
  };
  const bytes = Buffer.from(canonicalJson(manifest));
  const digest = digestOf(bytes);
  if (digest === image.descriptor.digest) return image;
  await options.hold?.([digest]);
  await store.ingest(Readable.from([bytes]), { digest, size: bytes.length });
  return { descriptor: { mediaType: manifest.mediaType as string, digest, size: bytes.length }, manifest, config: image.config };
}

/** Every blob an image needs besides its manifest: config first, then layers. */
export function imageBlobs(image: Pick<StoredImage, 'manifest'>): Descriptor[] {
  return [image.manifest.config, ...image.manifest.layers];
}
