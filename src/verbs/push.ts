/**
 * `push`: copy a local image to its registry (`registry/push-image.ts` does the transfer: HEAD,
 * cross-repository mounts, uploads, manifest last).
 */
import { readStoredImage } from '../export/stored-image.js';
import { registryClient } from '../registry/configured-client.js';
import { pushImage, type PushImageOptions, type PushResult } from '../registry/push-image.js';
import { formatReference, parseReference } from '../registry/reference.js';
import { StateRoot } from '../state/state-root.js';
import { findImage } from './images.js';
import type { CommonOptions, RegistryOptions } from './options.js';

export type { PushResult } from '../registry/push-image.js';

export interface PushOptions extends CommonOptions, RegistryOptions, Pick<PushImageOptions, 'jobs' | 'chunkSize'> {}

/** Pushes the local image named `name` (`tsbuild push NAME`) to the registry the name names. */
export async function push(name: string, options: PushOptions = {}): Promise<PushResult> {
  const full = formatReference(parseReference(name));
  const root = await StateRoot.open(options.root, options.progress);
  const image = await readStoredImage(root.store, (await findImage(full, options)).manifest.digest);
  return pushImage(image, full, { store: root.store, client: await registryClient(options), sources: root.blobSources }, options);
}
