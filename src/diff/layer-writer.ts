/**
 * Writing changes as a layer in one streaming pass: tar (see `tar-changes.ts`) → sha256 (the
 * diffID) → gzip → the content store (which hashes again: the digest). The same change gives the
 * same digest. A build writes its layers `uncompressed` instead (the tar as it is, so the digest is
 * the diffID): compression is left to the outputs that need it (`export/recompress.ts`), off the
 * path a developer waits on, as BuildKit's local exports do.
 */
import { pipeline } from 'node:stream/promises';
import { parallelGzip } from '../archive/parallel-gzip.js';
import { TarWriter } from '../archive/tar-writer.js';
import type { ContentStore } from '../content/store.js';
import type { Digest } from '../digest/digest.js';
import { HashingStream } from '../digest/hashing.js';
import { MediaType, type Descriptor } from '../image/oci-types.js';
import type { Change } from './changes.js';
import { writeChanges } from './tar-changes.js';
import { xattrsUnder } from '../util/native.js';

/** A layer written to the content store. */
export interface LayerResult {
  descriptor: Descriptor;
  diffID: Digest;
}

export interface WriteLayerOptions {
  /** Seconds since the epoch; newer file times are clamped to it. */
  sourceDateEpoch?: number;
  signal?: AbortSignal;
  /** What the layer is, for errors (`the layer of [base 2/3] RUN make`). */
  label?: string;
  /** The tree's extended attributes, when the caller has read them already (see `xattrsUnder`). */
  xattrs?: ReadonlyMap<string, ReadonlyMap<string, Buffer>>;
  /** `gzip` (the default) or `uncompressed`. */
  compression?: 'gzip' | 'uncompressed';
}

/** Writes `changes` (read from the tree at `root`) as a layer (gzipped unless asked otherwise) into `store`. */
export async function writeLayer(
  changes: readonly Change[],
  root: string,
  store: ContentStore,
  options: WriteLayerOptions = {},
): Promise<LayerResult> {
  const xattrs = options.xattrs ?? (await xattrsUnder(root));
  const diffID = new HashingStream();
  const writer = await store.writer({ ...(options.signal ? { signal: options.signal } : {}), ...(options.label ? { label: options.label } : {}) });
  const gzip = options.compression !== 'uncompressed';
  // An uncompressed layer's digest is its diffID: the store's own hash gives both, and the tar goes
  // straight to the store's writer (a large file's blocks in reused buffers, `TarWriter.toSink`).
  const tar = gzip ? new TarWriter() : TarWriter.toSink((chunk) => writer.write(chunk));
  const flowing = gzip ? pipeline(tar.stream, diffID, parallelGzip(), writer.stream, signalOf(options)) : Promise.resolve();
  flowing.catch(() => undefined); // awaited below; this only keeps an early failure from being unhandled
  try {
    await writeChanges(tar, changes, root, xattrs, options.sourceDateEpoch, options.signal);
    await tar.finish();
    await flowing;
    const { digest, size } = await writer.commit();
    return {
      descriptor: { mediaType: gzip ? MediaType.OciLayerGzip : MediaType.OciLayer, digest, size },
      diffID: gzip ? diffID.digest.digest : digest,
    };
  } catch (err) {
    tar.destroy(err as Error);
    throw await writer.abort(err);
  }
}

function signalOf(options: WriteLayerOptions): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}
