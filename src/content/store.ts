/**
 * The content store contract (containerd's `content.Store`, trimmed to what tsbuild needs):
 * content-addressed blobs, written through a writer that only makes a blob visible once its digest
 * and size are verified, and read through streams that verify what they deliver.
 */
import type { Readable, Writable } from 'node:stream';
import type { Digest } from '../digest/digest.js';

/** A stored blob. */
export interface BlobInfo {
  digest: Digest;
  size: number;
  /** When the blob was last written, in milliseconds since the epoch (where the store knows). */
  updated?: number;
}

/** What a blob must be: its digest, and its size when known. */
export interface Expected {
  digest: Digest;
  size?: number;
}

/** An in-progress write; nothing is visible until `commit`. */
export interface ContentWriter {
  /** Write the blob's bytes here (or with `write`, not both at once), then call `commit`. */
  readonly stream: Writable;
  /**
   * Writes `chunk` next; resolves once the store is done with it, so the caller may fill the same
   * buffer again (a large file read in reused blocks: no new buffer per block). The caller may give
   * the next chunk before that: chunks are written in the order they were given.
   */
  write(chunk: Buffer): Promise<void>;
  /** Finishes the write; verifies against `expected`; makes the blob visible. Idempotent for existing blobs. */
  commit(expected?: Expected): Promise<BlobInfo>;
  /**
   * Drops the write; nothing is stored. Resolves to the error the caller should throw for `cause`
   * (the reason it gives up): a full disk becomes one line naming what was being written.
   */
  abort(cause?: unknown): Promise<unknown>;
}

/** How a write is done, and what it is for (`layer sha256:… of busybox:1`, for errors). */
export interface WriteOptions {
  signal?: AbortSignal;
  label?: string;
}

/** Content-addressed blob storage. */
export interface ContentStore {
  /** The blob's size, or undefined when it is not stored. */
  info(digest: Digest): Promise<BlobInfo | undefined>;
  /** A stream of the blob that fails if the bytes on disk do not match their digest. */
  reader(digest: Digest, options?: { signal?: AbortSignal }): Promise<Readable>;
  /** A small blob (JSON) read whole and verified; refuses blobs over `maxBytes`. */
  readBytes(digest: Digest, maxBytes?: number): Promise<Buffer>;
  /** Starts a write. */
  writer(options?: WriteOptions): Promise<ContentWriter>;
  /** Streams `source` into the store and commits it against `expected`. */
  ingest(source: Readable, expected: Expected, options?: WriteOptions): Promise<BlobInfo>;
  /** Reads a stored blob whole and fails as `reader` does when it does not verify. */
  verify(digest: Digest): Promise<void>;
  /** Removes a blob (no error when absent). */
  delete(digest: Digest): Promise<void>;
  /** Every stored blob. */
  walk(): AsyncIterable<BlobInfo>;
}

/**
 * The error to report when using the stored blob `digest` failed with `err`. A damaged blob often
 * breaks decompression before its digest is checked at the end: then the blob is verified, and its
 * damage (the blob is removed, `LocalContentStore`) is the error rather than a zlib message.
 */
export async function readFailure(store: ContentStore, digest: Digest, err: unknown): Promise<unknown> {
  if ((err as { code?: unknown }).code === 'digest-mismatch' || (err as { name?: unknown }).name === 'AbortError') return err;
  try {
    await store.verify(digest);
  } catch (damage) {
    if ((damage as { code?: unknown }).code === 'digest-mismatch') return damage;
  }
  return err;
}
