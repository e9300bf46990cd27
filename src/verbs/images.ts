/**
 * The local image store's commands: `tag`, `rmi`, `inspect`, `history` and `save`. Names are
 * normalised like docker's (`app` → `docker.io/library/app:latest`); an image can also be named by
 * its id or manifest digest, or a unique prefix of either (`image-lookup.ts`). A multi-platform
 * image shows one platform at a time (`--platform`; default the host's) and lists them all in `inspect`.
 */
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { writingTo } from '../util/destination.js';
import { writeDockerArchive } from '../export/docker-archive.js';
import { openLayout } from '../export/layout-writer.js';
import { writeOciLayout } from '../export/oci-layout.js';
import { compressForExport, exportContext } from '../export/recompress.js';
import { imageRecord, recordFor, recordPlatforms } from '../images/image-record.js';
import { formatPlatform, parsePlatform } from '../image/platform.js';
import { readStoredImage, type StoredImage } from '../export/stored-image.js';
import { isDangling, type ImageRecord } from '../images/image-index.js';
import type { HistoryEntry } from '../image/oci-types.js';
import { formatReference, parseReference } from '../registry/reference.js';
import { StateRoot } from '../state/state-root.js';
import { UnpackedSizes } from '../export/unpacked-size.js';
import { lookupImage } from './image-lookup.js';
import type { CommonOptions } from './options.js';

/** Options of the verbs on local images. */
export type LocalOptions = Pick<CommonOptions, 'root' | 'signal' | 'progress'>;

/** `images`: every image of the local store, with its unpacked size beside the compressed `size`. */
export async function listImages(options: LocalOptions = {}): Promise<Array<ImageRecord & { unpacked: number }>> {
  const root = await StateRoot.open(options.root, options.progress);
  const sizes = new UnpackedSizes(root.path, root.store);
  const listed = [];
  for (const record of await root.images.list()) {
    // A listing shows every record; one whose blobs are damaged keeps its compressed size (verify and
    // pull say what is wrong with it).
    const image = await readStoredImage(root.store, record.manifest.digest).catch(() => undefined);
    let unpacked = 0;
    for (const layer of image?.manifest.layers ?? []) unpacked += await sizes.of(layer);
    listed.push({ ...record, unpacked: image ? unpacked : record.size });
  }
  await sizes.save();
  return listed;
}

/** The record for `name`, or for an image id / id prefix. */
export async function findImage(name: string, options: LocalOptions = {}): Promise<ImageRecord> {
  return findIn(await StateRoot.open(options.root, options.progress), name);
}

async function findIn(root: StateRoot, name: string): Promise<ImageRecord> {
  const { records } = await lookupImage(root.images, name);
  // A named record describes the image best; the dangling one only when it has no name.
  return (records.find((r) => !isDangling(r)) ?? records[0]) as ImageRecord;
}

/** Options of the verbs that read one platform's image of a name. */
export interface PlatformOptions extends LocalOptions {
  /** Of a multi-platform image, this platform's (default: the one its record names, the host's where built). */
  platform?: string;
}

/** The manifest digest of `record`'s image for `platform` (default: the record's own). */
function manifestOf(record: ImageRecord, platform: string | undefined): string {
  if (platform === undefined) return record.manifest.digest;
  const found = recordFor(record, platform);
  if (!found) {
    const has = recordPlatforms(record).map((p) => p.platform);
    throw new NotFoundError(`${record.name} has no ${formatPlatform(parsePlatform(platform))} image (it has ${has.join(', ')})`);
  }
  return found.manifest.digest;
}

/** The stored image behind a name or id. */
export async function localImage(name: string, options: PlatformOptions = {}): Promise<StoredImage> {
  const root = await StateRoot.open(options.root, options.progress);
  return readStoredImage(root.store, manifestOf(await findIn(root, name), options.platform));
}

/** `tag SOURCE TARGET`: a second name for the same image. */
export async function tagImage(source: string, target: string, options: LocalOptions = {}): Promise<string> {
  const root = await StateRoot.open(options.root, options.progress);
  const record = await findIn(root, source);
  const name = formatReference(parseReference(target));
  // A multi-platform record is named again as it is (its index and platforms).
  if (record.platforms) await root.images.put({ ...record, name, updated: new Date().toISOString() });
  else await root.images.put(imageRecord(name, await readStoredImage(root.store, record.manifest.digest)));
  return name;
}

/**
 * `rmi NAME|ID`: a name goes; an id removes the image's names when it has one (or with `force`, all
 * of them), as `docker rmi` does. Resolves to what went (names, or the digest of a dangling image);
 * the blobs go at the next `prune`.
 */
export async function removeImage(name: string, options: LocalOptions & { force?: boolean } = {}): Promise<string[]> {
  const root = await StateRoot.open(options.root, options.progress);
  const { records, byId } = await lookupImage(root.images, name);
  const names = records.filter((r) => !isDangling(r));
  if (byId && names.length > 1 && !options.force) {
    throw new InvalidArgumentError(
      `unable to delete ${(records[0] as ImageRecord).config.slice(7, 19)} (must be forced): image is referenced by ${names.length} names`,
      { hint: `remove the names (${names.map((r) => r.name).join(', ')}) one by one, or use rmi -f` },
    );
  }
  const removed: string[] = [];
  for (const record of records) {
    if (await root.images.remove(record.name)) removed.push(isDangling(record) ? record.manifest.digest : record.name);
  }
  return removed;
}

/** What `inspect` shows. */
export interface InspectedImage {
  name: string;
  /** The manifest digest of the platform shown. */
  digest: string;
  manifest: StoredImage['manifest'];
  config: StoredImage['config'];
  /** Of a multi-platform image: its index digest and every platform's manifest. */
  index?: string;
  platforms?: Array<{ platform: string; digest: string }>;
}

/** `inspect NAME`: the record, manifest and config (of `platform`, for a multi-platform image). */
export async function inspectImage(name: string, options: PlatformOptions = {}): Promise<InspectedImage> {
  const root = await StateRoot.open(options.root, options.progress);
  const record = await findIn(root, name);
  const image = await readStoredImage(root.store, manifestOf(record, options.platform));
  const platforms = record.platforms?.map((p) => ({ platform: p.platform, digest: p.manifest.digest }));
  return {
    name: record.name,
    digest: image.descriptor.digest,
    manifest: image.manifest,
    config: image.config,
    ...(platforms ? { index: record.target.digest, platforms } : {}),
  };
}

/** `history NAME`: the config's history, newest first, each with its layer's compressed and unpacked size. */
export async function imageHistory(name: string, options: PlatformOptions = {}): Promise<Array<HistoryEntry & { size: number; unpacked: number }>> {
  const root = await StateRoot.open(options.root, options.progress);
  const image = await localImage(name, options);
  const sizes = new UnpackedSizes(root.path, root.store);
  const layers = [...image.manifest.layers];
  const entries = [];
  for (const h of image.config.history ?? []) {
    const layer = h.empty_layer ? undefined : layers.shift();
    entries.push({ ...h, size: layer?.size ?? 0, unpacked: layer ? await sizes.of(layer) : 0 });
  }
  await sizes.save();
  return entries.reverse();
}

/** `save NAME… -o FILE`: an OCI layout tar (`format: 'oci'`) or a docker archive. */
export async function saveImages(names: readonly string[], dest: string, format: 'oci' | 'docker', options: LocalOptions = {}): Promise<void> {
  if (names.length === 0) throw new InvalidArgumentError('save needs at least one image name');
  const root = await StateRoot.open(options.root, options.progress);
  const records = await Promise.all(names.map((n) => findIn(root, n)));
  // Ingest files, leases and the rest a killed command left go first.
  await root.reclaim();
  // The blobs written into the archive are leased before they are read (compressing writes newer
  // ones, which the lease covers by their time): a concurrent prune keeps them.
  const lease = await root.lease();
  const hold = (blobs: readonly string[]): Promise<void> => lease.add({ blobs });
  try {
    await writingTo('the archive', dest, async () => {
      const layout = await openLayout(dest, true, options.signal);
      try {
        for (const record of records) {
          const stored = await readStoredImage(root.store, record.manifest.digest, hold);
          const image = await compressForExport(stored, exportContext(root, options.signal, hold));
          await (format === 'oci' ? writeOciLayout : writeDockerArchive)(layout, image, isDangling(record) ? [] : [record.name], root.store);
        }
        await layout.commit();
      } catch (err) {
        await layout.abort();
        throw err;
      }
    });
  } finally {
    await lease.close();
  }
}
