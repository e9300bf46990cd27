/**
 * `pull`: copy an image from a registry into the local content store and name it in the image
 * index (`state/pull-into.ts`), after reclaiming what killed tsbuild processes left; and
 * `resolveRemoteImage`, which only looks an image up.
 */
import { parsePlatform } from '../image/platform.js';
import { hostPlatform } from '../state/host-platform.js';
import { registryClient } from '../registry/configured-client.js';
import { parseReference } from '../registry/reference.js';
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

/** Resolves `reference` to its manifest digest, config and layers, without storing anything. */
export async function resolveRemoteImage(reference: string, options: Omit<PullOptions, 'root' | 'jobs'> = {}): Promise<ResolvedImage> {
  const platform = options.platform ? parsePlatform(options.platform) : hostPlatform();
  return resolveImage(await registryClient(options), parseReference(reference), platform, options.signal);
}
