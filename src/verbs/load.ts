/**
 * `load`: images from an archive (an OCI layout tar or a docker archive, `export/read-archive.ts`)
 * into the local store, named in its image index.
 */
import { readArchive, type LoadedImage } from '../export/read-archive.js';
import { readStoredImage } from '../export/stored-image.js';
import { imageRecord } from '../images/image-record.js';
import { hostPlatform } from '../state/host-platform.js';
import { StateRoot } from '../state/state-root.js';
import type { CommonOptions } from './options.js';

export type { LoadedImage } from '../export/read-archive.js';

export type LoadOptions = Pick<CommonOptions, 'root' | 'signal' | 'progress'>;

/** Loads the archive at `file`; resolves to the images found, with their names. */
export async function load(file: string, options: LoadOptions = {}): Promise<LoadedImage[]> {
  const root = await StateRoot.open(options.root, options.progress);
  // Ingest files, leases and the rest a killed load (or build) left go first.
  await root.reclaim();
  // What the archive holds that the store has already stays out of a concurrent prune's reach.
  const lease = await root.lease();
  try {
    const loaded = await readArchive(file, root.store, hostPlatform(), options);
    for (const { digest, names } of loaded) {
      const image = await readStoredImage(root.store, digest);
      for (const name of names) await root.images.put(imageRecord(name, image));
      if (names.length === 0) await root.images.putDangling(imageRecord('', image));
    }
    return loaded;
  } finally {
    await lease.close();
  }
}
