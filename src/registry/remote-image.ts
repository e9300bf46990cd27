/**
 * Resolving a reference to one image: tag or digest → manifest (choosing the platform's entry of an
 * index or manifest list) → config. What the planner needs (the config) and what a pull stores (the
 * verified manifest and config bytes, the layer descriptors).
 */
import { parseDocument } from '../image/documents.js';
import { parseDigest, type Digest } from '../digest/digest.js';
import { NotFoundError, UnsupportedError } from '../errors.js';
import { formatPlatform, selectManifest, type Platform } from '../image/platform.js';
import { INDEX_TYPES, type ImageConfig, type Manifest } from '../image/oci-types.js';
import type { FetchedManifest, RegistryClient } from './client.js';
import { formatReference, manifestReference, type Reference } from './reference.js';

/** One image of a registry, resolved for a platform. */
export interface ResolvedImage {
  ref: Reference;
  /** The index or manifest list the reference pointed to, when it was one. */
  index?: FetchedManifest;
  manifest: FetchedManifest;
  parsedManifest: Manifest;
  config: { digest: Digest; bytes: Buffer; parsed: ImageConfig };
  platform: Platform;
}

/** Where a config already stored locally can be read instead of fetched (verified by the caller's store). */
export type LocalBlobs = (digest: Digest) => Promise<Buffer | undefined>;

/**
 * Resolves `ref` for `platform`, fetching the index (if any), the manifest and the config (from
 * `local` when it has it).
 */
export async function resolveImage(
  client: RegistryClient,
  ref: Reference,
  platform: Platform,
  signal?: AbortSignal,
  local?: LocalBlobs,
): Promise<ResolvedImage> {
  const name = formatReference(ref);
  const top = await client.getManifest(ref, manifestReference(ref), signal);
  let index: FetchedManifest | undefined;
  let manifest = top;
  if (INDEX_TYPES.includes(top.mediaType)) {
    index = top;
    const parsed = parseDocument('index', top.bytes, `the index of ${name}`);
    const entry = selectManifest(parsed.manifests ?? [], platform);
    if (!entry) {
      const available = (parsed.manifests ?? []).flatMap((m) => (m.platform ? [formatPlatform(m.platform)] : [])).join(', ');
      throw new NotFoundError(`no image for platform ${formatPlatform(platform)} in ${name} (available: ${available || 'none'})`, {
        hint: 'choose one of the available platforms with --platform',
      });
    }
    manifest = await client.getManifest(ref, parseDigest(entry.digest), signal);
    if (INDEX_TYPES.includes(manifest.mediaType)) throw new UnsupportedError(`nested image indexes are not supported (${name})`);
  }
  const parsedManifest = parseDocument('manifest', manifest.bytes, `the manifest of ${name}`);
  const configDigest = parseDigest(parsedManifest.config.digest);
  const bytes = (await local?.(configDigest)) ?? (await fetchSmallBlob(client, ref, configDigest, parsedManifest.config.size, signal));
  const parsed = parseDocument('image config', bytes, `the image config of ${name}`);
  return {
    ref,
    ...(index ? { index } : {}),
    manifest,
    parsedManifest,
    config: { digest: configDigest, bytes, parsed },
    platform: {
      os: parsed.os ?? platform.os,
      architecture: parsed.architecture ?? platform.architecture,
      ...(parsed.variant ? { variant: parsed.variant } : {}),
    },
  };
}

async function fetchSmallBlob(client: RegistryClient, ref: Reference, digest: Digest, size: number, signal?: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await client.getBlob(ref, digest, size, signal)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
