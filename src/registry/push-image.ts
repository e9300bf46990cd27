/**
 * Pushing an image held in a content store to a registry, the way go-containerregistry's remote
 * write does: every blob is checked with HEAD and skipped when present, mounted from another
 * repository of the same registry when one is known to hold it (`blob-sources.ts`), else uploaded;
 * blobs go in parallel (bounded), the manifest last, so a reader never sees a manifest whose blobs
 * are missing.
 */
import PQueue from 'p-queue';
import type { ContentStore } from '../content/store.js';
import { parseDigest, type Digest } from '../digest/digest.js';
import type { Descriptor, Manifest } from '../image/oci-types.js';
import { counted } from '../progress/counted.js';
import { nullSink, type ProgressSink } from '../progress/events.js';
import type { BlobSources } from './blob-sources.js';
import type { RegistryClient } from './client.js';
import { formatReference, manifestReference, parseReference } from './reference.js';
import { RepositoryWriter, type BlobOutcome } from './repository-writer.js';

/** How to push. */
export interface PushImageOptions {
  /** Parallel blob uploads (default 3). */
  jobs?: number;
  /** Upload every blob in PATCH chunks of this many bytes (default: monolithic, chunked on refusal). */
  chunkSize?: number;
  signal?: AbortSignal;
  progress?: ProgressSink;
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

/** What is pushed: the manifest's descriptor and the manifest (its bytes and blobs are in the store). */
export interface PushedImage {
  descriptor: Descriptor;
  manifest: Manifest;
}

/** Pushes `image` from `store` to the registry as `name`. */
export async function pushImage(
  image: PushedImage,
  name: string,
  where: { store: ContentStore; client: RegistryClient; sources: BlobSources },
  options: PushImageOptions = {},
): Promise<PushResult> {
  const progress = options.progress ?? nullSink;
  const { store, sources } = where;
  const ref = parseReference(name);
  const writer = new RepositoryWriter(where.client, ref);
  const signal = options.signal ? { signal: options.signal } : {};
  const counts: Record<BlobOutcome, number> = { exists: 0, mounted: 0, uploaded: 0 };
  let uploadedBytes = 0;
  const queue = new PQueue({ concurrency: options.jobs ?? 3 });
  const blobs = [image.manifest.config, ...image.manifest.layers];
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
