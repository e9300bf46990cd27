/**
 * Streams that hash what flows through them, so a digest and size are known the moment a stream
 * ends, without a second pass or a buffer (go-containerregistry's in-flight digests).
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { IntegrityError, TsbuildError } from '../errors.js';
import type { Digest } from './digest.js';

/** A blob whose bytes did not hash to the digest it was fetched or stored under. */
export class DigestMismatchError extends TsbuildError {
  constructor(
    readonly expected: string,
    readonly actual: string,
    what = 'content',
  ) {
    super('digest-mismatch', `${what} digest mismatch: expected ${expected}, got ${actual}`);
  }
}

/** A Transform that passes bytes through and knows their sha256 digest and size at the end. */
export class HashingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private result: { digest: Digest; size: number } | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.result = { digest: `sha256:${this.hash.digest('hex')}` as Digest, size: this.bytes };
    callback();
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.bytes;
  }

  /** The digest and size; only valid after the stream has ended. */
  get digest(): { digest: Digest; size: number } {
    if (!this.result) throw new Error('HashingStream: digest read before the end of the stream');
    return this.result;
  }
}

/**
 * A Transform that fails the stream when more than `size` bytes pass, or when what passed does not
 * hash to `expected` (checked at the end, before the stream finishes). Used at every trust boundary:
 * registry responses, store reads, OCI layouts. `onMismatch` may act on a mismatch (the content
 * store removes the damaged blob) and gives the error the stream fails with.
 */
export function verifyingStream(
  expected: Digest,
  size: number | undefined,
  what = 'blob',
  onMismatch: (err: TsbuildError) => Promise<Error> = (err) => Promise.resolve(err),
): Transform {
  const hash = createHash('sha256');
  let seen = 0;
  const fail = (err: TsbuildError, callback: TransformCallback): void => void onMismatch(err).then(callback, callback);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (size !== undefined && seen > size) {
        fail(new IntegrityError(`${what} ${expected} is larger than its declared size ${size}`), callback);
        return;
      }
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      const actual = `sha256:${hash.digest('hex')}`;
      if (size !== undefined && seen !== size) {
        fail(new IntegrityError(`${what} ${expected} has ${seen} bytes, expected ${size}`), callback);
      } else if (actual !== expected) {
        fail(new DigestMismatchError(expected, actual, what), callback);
      } else {
        callback();
      }
    },
  });
}
