/**
 * The local image store's commands: `tag`, `rmi`, `inspect`, `history` and `save`. Names are
 * normalised like docker's (`app` → `docker.io/library/app:latest`); an image can also be named by
 * its id (config digest, or a unique prefix of its hex) as `docker` allows.
 */
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { writingTo } from '../util/destination.js';
import { writeDockerArchive } from '../export/docker-archive.js';
import { openLayout } from '../export/layout-writer.js';
import { writeOciLayout } from '../export/oci-layout.js';
import { imageRecord } from '../images/image-record.js';
import { readStoredImage, type StoredImage } from '../export/stored-image.js';
import { type ImageRecord } from '../images/image-index.js';
import type { HistoryEntry } from '../image/oci-types.js';
import { formatReference, parseReference } from '../registry/reference.js';
import { StateRoot } from '../state/state-root.js';
import type { CommonOptions } from './options.js';

/** Options of the verbs on local images. */
export type LocalOptions = Pick<CommonOptions, 'root' | 'signal' | 'progress'>;

/** `images`: every named image of the local store. */
export async function listImages(options: LocalOptions = {}): Promise<ImageRecord[]> {
  return (await StateRoot.open(options.root, options.progress)).images.list();
}

/** The record for `name`, or for an image id / id prefix. */
export async function findImage(name: string, options: LocalOptions = {}): Promise<ImageRecord> {
  return findIn(await StateRoot.open(options.root, options.progress), name);
}

async function findIn(root: StateRoot, name: string): Promise<ImageRecord> {
  const hex = name.replace(/^sha256:/, '');
  if (/^[a-f0-9]{4,64}$/.test(hex)) {
    const matches = (await root.images.list()).filter((r) => r.config.slice(7).startsWith(hex));
    const ids = new Set(matches.map((r) => r.config));
    if (ids.size === 1 && matches[0]) return matches[0];
    if (ids.size > 1) throw new InvalidArgumentError(`image id prefix ${hex} is ambiguous (${ids.size} images)`);
  }
  const full = formatReference(parseReference(name));
  const record = await root.images.get(full);
  if (!record) throw new NotFoundError(`no image named ${full} in the local store`, { hint: 'see tsbuild images' });
  return record;
}

/** The stored image behind a name or id. */
export async function localImage(name: string, options: LocalOptions = {}): Promise<StoredImage> {
  const root = await StateRoot.open(options.root, options.progress);
  return readStoredImage(root.store, (await findIn(root, name)).manifest.digest);
}

/** `tag SOURCE TARGET`: a second name for the same image. */
export async function tagImage(source: string, target: string, options: LocalOptions = {}): Promise<string> {
  const root = await StateRoot.open(options.root, options.progress);
  const image = await readStoredImage(root.store, (await findIn(root, source)).manifest.digest);
  const name = formatReference(parseReference(target));
  await root.images.put(imageRecord(name, image));
  return name;
}

/** `rmi NAME`: removes the name; the blobs go at the next `prune`. */
export async function removeImage(name: string, options: LocalOptions = {}): Promise<string> {
  const root = await StateRoot.open(options.root, options.progress);
  const full = formatReference(parseReference(name));
  if (!(await root.images.remove(full))) throw new NotFoundError(`no image named ${full} in the local store`);
  return full;
}

/** `inspect NAME`: the record, manifest and config. */
export async function inspectImage(
  name: string,
  options: LocalOptions = {},
): Promise<{ name: string; digest: string; manifest: StoredImage['manifest']; config: StoredImage['config'] }> {
  const root = await StateRoot.open(options.root, options.progress);
  const record = await findIn(root, name);
  const image = await readStoredImage(root.store, record.manifest.digest);
  return { name: record.name, digest: image.descriptor.digest, manifest: image.manifest, config: image.config };
}

/** `history NAME`: the config's history, newest first, each with the size of its layer. */
export async function imageHistory(name: string, options: LocalOptions = {}): Promise<Array<HistoryEntry & { size: number }>> {
  const image = await localImage(name, options);
  const layers = [...image.manifest.layers];
  const entries = (image.config.history ?? []).map((h) => ({ ...h, size: h.empty_layer ? 0 : (layers.shift()?.size ?? 0) }));
  return entries.reverse();
}

/** `save NAME… -o FILE`: an OCI layout tar (`format: 'oci'`) or a docker archive. */
export async function saveImages(names: readonly string[], dest: string, format: 'oci' | 'docker', options: LocalOptions = {}): Promise<void> {
  if (names.length === 0) throw new InvalidArgumentError('save needs at least one image name');
  const root = await StateRoot.open(options.root, options.progress);
  const records = await Promise.all(names.map((n) => findIn(root, n)));
  await writingTo('the archive', dest, async () => {
    const layout = await openLayout(dest, true, options.signal);
    try {
      for (const record of records) {
        const image = await readStoredImage(root.store, record.manifest.digest);
        await (format === 'oci' ? writeOciLayout : writeDockerArchive)(layout, image, [record.name], root.store);
      }
      await layout.commit();
    } catch (err) {
      await layout.abort();
      throw err;
    }
  });
}
