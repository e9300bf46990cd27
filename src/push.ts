/**
 * `push`: copy an image from the content store to a registry, the way go-containerregistry's
 * remote write does: every blob is checked with HEAD and skipped when present, mounted from
 * another repository of the same registry when one is known to hold it, else uploaded; blobs go
 * in parallel (bounded), the manifest last, so a reader never sees a manifest whose blobs are
 * missing.
 */
import PQueue from 'p-queue';
import { LocalContentStore } from './content/local-store.js';
import { parseDigest, type Digest } from './digest/digest.js';
import { imageBlobs, type StoredImage } from './export/stored-image.js';
import { localImage } from './local-images.js';
import { BlobSources } from './images/blob-sources.js';
import { counted } from './progress/counted.js';
import { nullSink, warningsTo } from './progress/events.js';
import { clientFor, type PullOptions } from './pull.js';
import { formatReference, manifestReference, parseReference } from './registry/reference.js';
import { RepositoryWriter, type BlobOutcome } from './registry/repository-writer.js';
import { stateRoot } from './settings.js';

export interface PushOptions extends Pick<PullOptions, 'root' | 'registries' | 'registriesConfig' | 'dockerConfig' | 'signal' | 'progress'> {
  /** Parallel blob uploads (default 3). */
  jobs?: number;
  /** Upload every blob in PATCH chunks of this many bytes (default: monolithic, chunked on refusal). */
  chunkSize?: number;
}

/** What a push did. */
export interface PushResult {
  name: string;
  digest: Digest;
  /** Blobs (config and layers) by what happened to them. */
  uploaded: number;
  mounted: number;
  existing: number;
  uploadedBytes: number;
}

/** Pushes the local image named `name` (`tsbuild push NAME`). */
export async function push(name: string, options: PushOptions = {}): Promise<PushResult> {
  const full = formatReference(parseReference(name));
  return pushImage(await localImage(full, options.root ? { root: options.root } : {}), full, options);
}

/** Pushes `image` (manifest and blobs in the store under the state root) as `name`. */
export async function pushImage(image: Pick<StoredImage, 'descriptor' | 'manifest'>, name: string, options: PushOptions = {}): Promise<PushResult> {
  const progress = options.progress ?? nullSink;
  const root = stateRoot(options.root);
  const store = new LocalContentStore(root);
  const sources = new BlobSources(root, warningsTo(progress));
  const ref = parseReference(name);
  const writer = new RepositoryWriter(await clientFor(options), ref);
  const signal = options.signal ? { signal: options.signal } : {};
  const counts: Record<BlobOutcome, number> = { exists: 0, mounted: 0, uploaded: 0 };
  let uploadedBytes = 0;
  const queue = new PQueue({ concurrency: options.jobs ?? 3 });
  const blobs = imageBlobs(image);
  await Promise.all(
    blobs.map((blob) =>
      queue.add(async () => {
        const digest = parseDigest(blob.digest);
        const label = digest.slice(7, 19);
        const open = async () =>
          counted(await store.reader(digest, signal), (current) =>
            progress.emit({ type: 'bytes', id: digest, label, current, total: blob.size, push: true }),
          );
        const outcome = await writer.putBlob(blob, open, await sources.repositories(digest, ref.domain), {
          ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}),
          ...signal,
        });
        counts[outcome]++;
        if (outcome === 'uploaded') uploadedBytes += blob.size;
        progress.emit({
          type: 'bytes',
          id: digest,
          label,
          current: blob.size,
          total: blob.size,
          done: true,
          push: true,
          ...(outcome === 'uploaded' ? {} : { cached: true }),
          ...(outcome === 'mounted' ? { mounted: true } : {}),
        });
      }),
    ),
  );
  const bytes = await store.readBytes(parseDigest(image.descriptor.digest));
  const digest = await writer.putManifest(ref.digest ? ref.digest : manifestReference(ref), image.descriptor.mediaType, bytes, options.signal);
  await sources.add(
    blobs.map((b) => b.digest),
    ref.domain,
    ref.path,
  );
  progress.emit({
    type: 'message',
    text: `${formatReference(ref)}: pushed ${digest} (${counts.uploaded} uploaded, ${counts.mounted} mounted, ${counts.exists} already there)`,
  });
  return { name: formatReference(ref), digest, uploaded: counts.uploaded, mounted: counts.mounted, existing: counts.exists, uploadedBytes };
}
