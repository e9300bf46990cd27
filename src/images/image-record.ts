/**
 * The image-store record naming an image: what `images`, `inspect` and the builds' outputs write
 * into the image index for a manifest held in the content store.
 */
import type { Descriptor, ImageConfig, Manifest } from '../image/oci-types.js';
import { formatPlatform } from '../image/platform.js';
import type { ImageRecord } from './image-index.js';

/** What a record is made from: the manifest's descriptor, the manifest and its config. */
export interface RecordedImage {
  descriptor: Descriptor;
  manifest: Manifest;
  config: ImageConfig;
}

/** The record naming `image` as `name`. */
export function imageRecord(name: string, image: RecordedImage): ImageRecord {
  const { os, architecture, variant } = image.config;
  return {
    name,
    target: image.descriptor,
    manifest: image.descriptor,
    config: image.manifest.config.digest,
    ...(image.config.created ? { created: image.config.created } : {}),
    platform: formatPlatform({ os, architecture, ...(variant ? { variant } : {}) }),
    size: image.manifest.layers.reduce((sum, l) => sum + l.size, 0),
    updated: new Date().toISOString(),
  };
}
