/**
 * `pull`: copy an image from a registry into the local content store and name it in the image
 * index (`state/pull-into.ts`), one platform or all an index lists (merged into one record), after
 * reclaiming what killed tsbuild processes left; and
 * `resolveRemoteImage`, which only looks an image up.
 */
import { Readable } from 'node:stream';
import type { Digest } from '../digest/digest.js';
import { parseDocument } from '../image/documents.js';
import { INDEX_TYPES } from '../image/oci-types.js';
import { formatPlatform, parsePlatform } from '../image/platform.js';
import { hostPlatform } from '../state/host-platform.js';
import { registryClient } from '../registry/configured-client.js';
import { manifestReference, parseReference } from '../registry/reference.js';
import { resolveImage, type ResolvedImage } from '../registry/remote-image.js';
import { pullInto, type PullResult } from '../state/pull-into.js';
import { StateRoot } from '../state/state-root.js';
import type { CommonOptions, RegistryOptions } from './options.js';

export type { PullResult } from '../state/pull-into.js';

/** What to pull and where from. */
export interface PullOptions extends CommonOptions, RegistryOptions {
  /** `linux/arm64`; the host's when absent. */
  platform?: string;
  /** Parallel layer downloads (default 3). */
  jobs?: number;
}

/** Pulls `reference` into the state root; resolves to what was pulled. */
export async function pull(reference: string, options: PullOptions = {}): Promise<PullResult> {
  const root = await StateRoot.open(options.root, options.progress);
  // Ingest files, leases and the rest a killed pull (or build) left go first.
  await root.reclaim();
  return pullInto(root, reference, options.platform ? parsePlatform(options.platform) : hostPlatform(), options);
}

/** What `pull --all-platforms` did: the index and each platform's pull. */
export interface PullAllResult {
  name: string;
  /** The index digest (the manifest's, when the name is a single-platform image). */
  digest: Digest;
  platforms: PullResult[];
}

/**
 * Pulls every platform an index lists (`pull --all-platforms`), one after another so shared layers
 * download once; the index itself is stored too, so the record is whole (it can be pushed again).
 * Entries without a real platform (BuildKit's attestation manifests, `unknown/unknown`) are skipped.
 */
export async function pullAllPlatforms(reference: string, options: Omit<PullOptions, 'platform'> = {}): Promise<PullAllResult> {
  const root = await StateRoot.open(options.root, options.progress);
  await root.reclaim();
  const ref = parseReference(reference);
  const index = await (await registryClient(options)).getManifest(ref, manifestReference(ref), options.signal);
  if (!INDEX_TYPES.includes(index.mediaType)) {
    // A single image: whatever its platform, it is the one there is.
    const only = await pullInto(root, reference, hostPlatform(), options);
    return { name: only.name, digest: only.digest, platforms: [only] };
  }
  const listed = parseDocument('index', index.bytes, `${ref.domain}/${ref.path}: index ${index.digest}`).manifests.flatMap((m) =>
    m.platform && m.platform.os !== 'unknown' ? [parsePlatform(formatPlatform(m.platform))] : [],
  );
  const platforms: PullResult[] = [];
  for (const platform of listed) platforms.push(await pullInto(root, reference, platform, options));
  await root.store.ingest(
    Readable.from([index.bytes]),
    { digest: index.digest, size: index.bytes.length },
    options.signal ? { signal: options.signal } : {},
  );
  return { name: platforms[0]?.name ?? reference, digest: index.digest, platforms };
}

/** Resolves `reference` to its manifest digest, config and layers, without storing anything. */
export async function resolveRemoteImage(reference: string, options: Omit<PullOptions, 'root' | 'jobs'> = {}): Promise<ResolvedImage> {
  const platform = options.platform ? parsePlatform(options.platform) : hostPlatform();
  return resolveImage(await registryClient(options), parseReference(reference), platform, options.signal);
}
