/**
 * `push`: copy a local image to its registry (`registry/push-image.ts` does the transfer: HEAD,
 * cross-repository mounts, uploads, manifest last); a multi-platform image as its index
 * (`registry/push-index.ts`).
 */
import { readStoredIndex } from '../export/platform-index.js';
import { readStoredImage } from '../export/stored-image.js';
import { pushIndex } from '../registry/push-index.js';
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
  const root = await StateRoot.open(options.root);
  const record = await findImage(full, options);
  const where = { store: root.store, client: await registryClient(options), sources: root.blobSources };
  // A multi-platform image goes as it was built: every platform, then its index.
  if (record.platforms) return pushIndex(await readStoredIndex(root.store, record.target), full, where, options);
  return pushImage(await readStoredImage(root.store, record.manifest.digest), full, where, options);
}
