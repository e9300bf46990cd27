/**
 * The image: config (platform, the stage's container config, diffIDs, history) and an OCI
 * manifest, written to the content store as canonical JSON. The container config is written as
 * BuildKit's Go type writes it: only the fields that type has (a base built by the classic builder
 * brings `Hostname`, `Image`, `AttachStdin`…), and none with an empty value (every field there is
 * `omitempty`: a base's `"WorkingDir": ""` is not written).
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

/** Writes config and manifest; returns the manifest's descriptor, the config digest and the image as stored. */
export async function writeImage(parts: ImageParts, store: ContentStore): Promise<{ manifest: Descriptor; config: Digest; stored: StoredImage }> {
  const config: ImageConfig = {
    created: parts.created,
    ...(parts.author ? { author: parts.author } : {}),
    architecture: parts.platform.architecture,
    os: parts.platform.os,
    ...(parts.platform.variant ? { variant: parts.platform.variant } : {}),
    config: writtenConfig(parts.config),
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

/** The fields of the container config BuildKit's image type has (OCI's, then Docker's extensions). */
const CONFIG_FIELDS = [
  'User',
  'ExposedPorts',
  'Env',
  'Entrypoint',
  'Cmd',
  'Volumes',
  'WorkingDir',
  'Labels',
  'StopSignal',
  'ArgsEscaped',
  'Healthcheck',
  'OnBuild',
  'Shell',
] as const satisfies ReadonlyArray<keyof ContainerConfig>;

/** `config` as written: known fields only, empty strings, lists, maps, `false` and `null` left out (Go's `omitempty`). */
export function writtenConfig(config: ContainerConfig): ContainerConfig {
  const empty = (v: unknown): boolean =>
    v === undefined ||
    v === null ||
    v === '' ||
    v === false ||
    (Array.isArray(v) ? v.length === 0 : typeof v === 'object' && Object.keys(v).length === 0);
  const out: Record<string, unknown> = {};
  for (const field of CONFIG_FIELDS) if (!empty(config[field])) out[field] = config[field];
  return out;
}
