/**
 * The image: config (platform, the stage's container config, diffIDs, history) and an OCI
 * manifest, written to the content store as canonical JSON.
 */
import { Readable } from 'node:stream';
import type { ContentStore } from '../content/store.js';
import { canonicalJson, digestOf, type Digest } from '../digest/digest.js';
import type { ContainerConfig, Descriptor, HistoryEntry, ImageConfig, Manifest } from '../image/oci-types.js';
import { MediaType } from '../image/oci-types.js';
import type { Platform } from '../image/platform.js';
import type { StoredImage } from '../export/stored-image.js';

export interface ImageParts {
  platform: Platform;
  config: ContainerConfig;
  author?: string;
  layers: Array<{ descriptor: Descriptor; diffID: string }>;
  history: HistoryEntry[];
  created: string;
}

/**
 * The container config as Go's image-spec types write it: every field is `omitempty`, so an empty
 * string, list or map (an image's empty WorkingDir, a `CMD []`) is left out, not written as `""`.
 */
function withoutEmpty(config: ContainerConfig): ContainerConfig {
  const empty = (value: unknown): boolean =>
    value === undefined ||
    value === '' ||
    value === false ||
    (Array.isArray(value) ? value.length === 0 : typeof value === 'object' && value !== null && Object.keys(value).length === 0);
  return Object.fromEntries(Object.entries(config).filter(([, value]) => !empty(value)));
}

/** Writes config and manifest; returns the manifest's descriptor, the config digest and the image as stored. */
export async function writeImage(parts: ImageParts, store: ContentStore): Promise<{ manifest: Descriptor; config: Digest; stored: StoredImage }> {
  const config: ImageConfig = {
    created: parts.created,
    ...(parts.author ? { author: parts.author } : {}),
    architecture: parts.platform.architecture,
    os: parts.platform.os,
    ...(parts.platform.variant ? { variant: parts.platform.variant } : {}),
    config: withoutEmpty(parts.config),
    rootfs: { type: 'layers', diff_ids: parts.layers.map((l) => l.diffID) },
    history: parts.history,
  };
  const configBytes = Buffer.from(canonicalJson(config));
  const configDigest = digestOf(configBytes);
  await store.ingest(Readable.from([configBytes]), { digest: configDigest, size: configBytes.length });
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: configDigest, size: configBytes.length },
    layers: parts.layers.map((l) => l.descriptor),
  };
  const manifestBytes = Buffer.from(canonicalJson(manifest));
  const manifestDigest = digestOf(manifestBytes);
  await store.ingest(Readable.from([manifestBytes]), { digest: manifestDigest, size: manifestBytes.length });
  const descriptor = { mediaType: MediaType.OciManifest, digest: manifestDigest, size: manifestBytes.length };
  return { manifest: descriptor, config: configDigest, stored: { descriptor, manifest, config } };
}
