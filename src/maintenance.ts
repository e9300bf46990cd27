/**
 * `du` and `prune` over a state root (façade over `cache/gc.ts`).
 */
import { CacheIndex } from './cache/cache-index.js';
import { diskUsage, prune, type PruneResult, type Usage } from './cache/gc.js';
import { LocalContentStore } from './content/local-store.js';
import { ImageIndex } from './images/image-index.js';
import { stateRoot } from './settings.js';
import { selectSnapshotter } from './snapshot/select.js';
import { prepareStateRoot } from './util/make-dirs.js';

export async function usage(root?: string): Promise<Usage> {
  const dir = stateRoot(root);
  await prepareStateRoot(dir);
  return diskUsage(new LocalContentStore(dir), await selectSnapshotter(dir), new CacheIndex(dir));
}

export async function pruneState(options: { root?: string; all?: boolean } = {}): Promise<PruneResult> {
  const dir = stateRoot(options.root);
  await prepareStateRoot(dir);
  const images = await new ImageIndex(dir).list();
  const manifests = images.flatMap((i) => [i.manifest.digest, ...(i.target.digest !== i.manifest.digest ? [i.target.digest] : [])]);
  return prune(new LocalContentStore(dir), await selectSnapshotter(dir), new CacheIndex(dir), manifests, { all: options.all ?? false });
}
