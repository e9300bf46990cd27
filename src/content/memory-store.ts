/**
 * A content store in memory: blobs in a Map, verified exactly as the local store verifies them.
 * For dry runs and tests of code that only needs the `ContentStore` contract; it runs the same
 * conformance suite as the on-disk store (`test/suites/content-store.ts`).
 */
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Digest } from '../digest/digest.js';
import { DigestMismatchError, HashingStream, verifyingStream } from '../digest/hashing.js';
import { IntegrityError, InternalError, InvalidArgumentError, NotFoundError } from '../errors.js';
import type { BlobInfo, ContentStore, ContentWriter, Expected, WriteOptions } from './store.js';

const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

export class MemoryContentStore implements ContentStore {
  private readonly blobs = new Map<string, { bytes: Buffer; updated: number }>();

  async info(digest: Digest): Promise<BlobInfo | undefined> {
    const blob = this.blobs.get(digest);
    return blob ? { digest, size: blob.bytes.length, updated: blob.updated } : undefined;
  }

  async reader(digest: Digest): Promise<Readable> {
    const blob = this.blobs.get(digest);
    if (!blob) throw new NotFoundError(`blob ${digest} not found in the content store`);
    return Readable.from([blob.bytes]).pipe(verifyingStream(digest, blob.bytes.length, 'stored blob'));
  }

  async readBytes(digest: Digest, maxBytes = DEFAULT_MAX_BYTES): Promise<Buffer> {
    const blob = this.blobs.get(digest);
    if (!blob) throw new NotFoundError(`blob ${digest} not found in the content store`);
    if (blob.bytes.length > maxBytes)
      throw new InvalidArgumentError(`blob ${digest} is ${blob.bytes.length} bytes, more than the ${maxBytes} allowed here`);
    return Buffer.from(blob.bytes);
  }

  async writer(options: WriteOptions = {}): Promise<ContentWriter> {
    const hashing = new HashingStream();
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk);
        done();
      },
    });
    const written = pipeline(hashing, sink, options.signal ? { signal: options.signal } : {});
    written.catch(() => undefined); // observed in commit/abort
    let done = false;
    return {
      stream: hashing,
      // A copy goes in: the caller may fill its buffer again as soon as this resolves.
      write: (chunk: Buffer) =>
        new Promise<void>((resolve, reject) => {
          if (done) reject(new InternalError('content writer used after commit or abort'));
          else hashing.write(Buffer.from(chunk), (err) => (err ? reject(err) : resolve()));
        }),
      abort: async (cause?: unknown) => {
        done = true;
        hashing.destroy();
        await written.catch(() => undefined); // aborting: the write's failure is no longer news
        return cause; // memory never fills up the way a disk does: the caller's reason stands
      },
      commit: async (expected?: Expected) => {
        if (done) throw new InternalError('content writer used after commit or abort');
        done = true;
        hashing.end();
        await written;
        const { digest, size } = hashing.digest;
        if (expected && expected.digest !== digest) throw new DigestMismatchError(expected.digest, digest, 'blob');
        if (expected?.size !== undefined && expected.size !== size)
          throw new IntegrityError(`blob ${digest} has ${size} bytes, expected ${expected.size}`);
        this.blobs.set(digest, { bytes: Buffer.concat(chunks), updated: Date.now() });
        return { digest, size };
      },
    };
  }

  async ingest(source: Readable, expected: Expected, options: WriteOptions = {}): Promise<BlobInfo> {
    const existing = await this.info(expected.digest);
    if (existing && (expected.size === undefined || existing.size === expected.size)) {
      source.destroy();
      return existing;
    }
    const writer = await this.writer(options);
    try {
      await pipeline(source, new PassThrough(), writer.stream, { end: false, ...(options.signal ? { signal: options.signal } : {}) });
    } catch (err) {
      throw await writer.abort(err);
    }
    return writer.commit(expected);
  }

  async verify(digest: Digest): Promise<void> {
    await pipeline(await this.reader(digest), new Writable({ write: (_chunk, _encoding, done) => done() }));
  }

  async delete(digest: Digest): Promise<void> {
    this.blobs.delete(digest);
  }

  async *walk(): AsyncIterable<BlobInfo> {
    for (const digest of [...this.blobs.keys()].sort()) {
      const info = await this.info(digest as Digest);
      if (info) yield info;
    }
  }
}
