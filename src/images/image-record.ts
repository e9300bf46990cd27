/**
 * The image-store record naming an image: what `images`, `inspect` and the builds' outputs write
 * into the image index for a manifest held in the content store, or for an index of several
 * platforms (each platform's manifest and config listed, so a later build or `inspect` finds the
 * one it wants without reading the index).
 */
import type { Descriptor, ImageConfig, Manifest } from '../image/oci-types.js';
import { formatPlatform, parsePlatform, platformMatches, type Platform } from '../image/platform.js';
import type { ImageRecord, PlatformImage } from './image-index.js';

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

/**
 * The record naming an index of `images` (one per platform, as an index lists them) as `name`;
 * its own `manifest`, `config` and `platform` are those of the image that fits `preferred` (the
 * host), else the first.
 */
export function indexRecord(name: string, index: Descriptor, images: readonly RecordedImage[], preferred: Platform): ImageRecord {
  const platforms = images.map((image) => platformImage(imageRecord(name, image)));
  const main = platforms.find((p) => platformMatches(preferred, parsePlatform(p.platform))) ?? platforms[0];
  const first = images[platforms.indexOf(main as PlatformImage)] ?? images[0];
  return { ...imageRecord(name, first as RecordedImage), target: index, platforms };
}

/** A platform's image out of a single-platform record. */
function platformImage(record: ImageRecord): PlatformImage {
  return { platform: record.platform, manifest: record.manifest, config: record.config, size: record.size };
}

/** Every platform a record holds (one for a single-platform record). */
export function recordPlatforms(record: ImageRecord): PlatformImage[] {
  return record.platforms ?? [platformImage(record)];
}

/** The record's image for `platform` (variants matched as containerd does), or undefined. */
export function recordFor(record: ImageRecord, platform: string): PlatformImage | undefined {
  const wanted = parsePlatform(platform);
  const all = recordPlatforms(record);
  return all.find((p) => p.platform === formatPlatform(wanted)) ?? all.find((p) => platformMatches(wanted, parsePlatform(p.platform)));
}

/**
 * A pulled platform merged into what the name held: when both came from the same index, the
 * record lists both platforms (in the order pulled; a platform pulled again keeps its place);
 * otherwise the pulled record replaces it.
 */
export function mergePulled(current: ImageRecord | undefined, pulled: ImageRecord): ImageRecord {
  if (!current || current.target.digest !== pulled.target.digest || pulled.target.digest === pulled.manifest.digest) return pulled;
  const known = recordPlatforms(current);
  const entry = platformImage(pulled);
  const platforms = known.some((p) => p.platform === entry.platform)
    ? known.map((p) => (p.platform === entry.platform ? entry : p))
    : [...known, entry];
  return { ...pulled, platforms };
}
