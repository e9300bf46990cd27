/**
 * Copying an image from a registry into a content store: the manifest (through the index for the
 * platform) and config resolved and verified, then the layers downloaded in parallel (bounded),
 * streamed straight into the store through verifying streams, and skipped when already stored. The
 * index, manifest and config are stored while the layers download. Naming the image is the
 * caller's: until then nothing here belongs to an image.
 */
import { Readable } from 'node:stream';
import PQueue from 'p-queue';
import type { ContentStore } from '../content/store.js';
import { parseDigest, type Digest } from '../digest/digest.js';
import type { Descriptor } from '../image/oci-types.js';
import { formatPlatform, type Platform } from '../image/platform.js';
import { counted } from '../progress/counted.js';
import { nullSink, type ProgressSink } from '../progress/events.js';
import type { RegistryClient } from './client.js';
import type { Reference } from './reference.js';
import { formatReference } from './reference.js';
import { resolveImage, type ResolvedImage } from './remote-image.js';

export interface PullImageOptions {
  /** Parallel layer downloads (default 3). */
  jobs?: number;
  signal?: AbortSignal;
  progress?: ProgressSink;
  /**
   * Called with every blob of the image before the store is asked whether it holds any (a lease:
   * what is already stored must stay so until the caller names the image).
   */
  hold?: (digests: string[]) => Promise<void>;
}

/** What was pulled. */
export interface PulledImage {
  image: ResolvedImage;
  /** Layers fetched now; the rest were already stored. */
  downloaded: number;
  downloadedBytes: number;
}

export async function pullImage(
  ref: Reference,
  platform: Platform,
  where: { store: ContentStore; client: RegistryClient },
  options: PullImageOptions = {},
): Promise<PulledImage> {
  const { store, client } = where;
  const progress = options.progress ?? nullSink;
  const signal = options.signal ? { signal: options.signal } : {};
  const name = formatReference(ref);
  const local = async (digest: Digest): Promise<Buffer | undefined> => ((await store.info(digest)) ? store.readBytes(digest) : undefined);
  const image = await resolveImage(client, ref, platform, options.signal, local);
  progress.emit({ type: 'message', text: `${formatReference(ref)}: resolved to ${image.manifest.digest} (${formatPlatform(image.platform)})` });
  await options.hold?.([
    ...(image.index ? [image.index.digest] : []),
    image.manifest.digest,
    image.config.digest,
    ...image.parsedManifest.layers.map((l) => l.digest),
  ]);

  const small = [image.index, image.manifest, { digest: image.config.digest, bytes: image.config.bytes }].flatMap((b) => (b ? [b] : []));
  const storingSmall = Promise.all(
    small.map((blob) =>
      store.ingest(
        Readable.from([blob.bytes]),
        { digest: blob.digest, size: blob.bytes.length },
        { label: `blob ${blob.digest} of ${name}`, ...signal },
      ),
    ),
  );

  const fetchLayer = async (layer: Descriptor): Promise<number> => {
    const digest = parseDigest(layer.digest);
    const label = digest.slice(7, 19);
    const existing = await store.info(digest);
    if (existing && existing.size === layer.size) {
      progress.emit({ type: 'bytes', id: digest, label, current: layer.size, total: layer.size, done: true, cached: true });
      return 0;
    }
    // The client resumes a download whose connection breaks (a range request from where it
    // stopped); what it gives up on, or content that does not match, fails the pull.
    const body = await client.getBlob(ref, digest, layer.size, options.signal);
    await store.ingest(
      counted(body, (current) => progress.emit({ type: 'bytes', id: digest, label, current, total: layer.size })),
      { digest, size: layer.size },
      // What a full disk's one line names.
      { label: `layer ${digest} of ${name}`, ...signal },
    );
    progress.emit({ type: 'bytes', id: digest, label, current: layer.size, total: layer.size, done: true });
    return layer.size;
  };

  const queue = new PQueue({ concurrency: options.jobs ?? 3 });
  let downloaded = 0;
  let downloadedBytes = 0;
  await Promise.all([
    storingSmall,
    ...image.parsedManifest.layers.map((layer) =>
      queue.add(async () => {
        const fetched = await fetchLayer(layer);
        if (fetched > 0) {
          downloaded++;
          downloadedBytes += fetched;
        }
      }),
    ),
  ]).catch(async (err: unknown) => {
    await storingSmall.catch(() => undefined); // settled before the layer error is reported
    throw err;
  });
  return { image, downloaded, downloadedBytes };
}
