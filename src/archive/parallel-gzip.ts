/**
 * Parallel gzip, the way pigz does it: the input is cut into fixed-size blocks, each block is
 * deflated on its own (zlib's asynchronous calls run on libuv's thread pool, so blocks compress on
 * several cores at once) with the previous block's last 32 KiB as its dictionary, every block but
 * the last ends with a sync flush (byte-aligned, not final), and the raw deflate pieces are written
 * in order between one gzip header and one trailer (CRC-32 and length of the whole input).
 *
 * - Deterministic: the same bytes give the same output whatever the chunking or concurrency.
 * - Bounded memory: at most `concurrency` blocks are in flight; the writer waits for the oldest.
 * - An input of at most one block is a single deflate stream: byte-for-byte what `gzip()` writes.
 */
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';

/** zlib's asynchronous raw deflate (looked up per call, so tests can observe it). */
function deflateRaw(buffer: Buffer, options: zlib.ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => zlib.deflateRaw(buffer, options, (err, out) => (err ? reject(err) : resolve(out))));
}
/** Deflate's window: how far back a match can reach. */
const WINDOW = 32 * 1024;
/** Magic, deflate, no flags, mtime 0, no extra flags, OS unix: as node:zlib writes it at level 6. */
const HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]);

export interface ParallelGzipOptions {
  level?: number;
  /** Uncompressed bytes per block (default 1 MiB). */
  blockSize?: number;
  /** Blocks compressed at once (default 4: libuv's thread pool size). */
  concurrency?: number;
}

/** A gzip compressor that uses several cores for large inputs. */
export function parallelGzip(options: ParallelGzipOptions = {}): Transform {
  return new ParallelGzip(options);
}

class ParallelGzip extends Transform {
  private readonly level: number;
  private readonly blockSize: number;
  private readonly concurrency: number;
  private parts: Buffer[] = [];
  private buffered = 0;
  private dictionary: Buffer | undefined;
  private readonly pending: Array<Promise<Buffer>> = [];
  private crc = 0;
  private length = 0;
  private started = false;

  constructor(options: ParallelGzipOptions) {
    super();
    this.level = options.level ?? 6;
    this.blockSize = options.blockSize ?? 1024 * 1024;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.crc = zlib.crc32(chunk, this.crc);
    this.length = (this.length + chunk.length) % 2 ** 32;
    this.parts.push(chunk);
    this.buffered += chunk.length;
    this.drainFull().then(() => done(), done);
  }

  override _flush(done: TransformCallback): void {
    this.finish().then(() => done(), done);
  }

  /** Starts a block for every full block buffered, writing finished ones to keep within bounds. */
  private async drainFull(): Promise<void> {
    while (this.buffered >= this.blockSize) {
      const all = Buffer.concat(this.parts);
      const block = all.subarray(0, this.blockSize);
      const rest = all.subarray(this.blockSize);
      this.parts = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      // A block of exactly the last bytes is only known to be last at the end: keep it back.
      if (this.buffered === 0) {
        this.parts = [block];
        this.buffered = block.length;
        return;
      }
      this.start(block, false);
      while (this.pending.length >= this.concurrency) await this.writeOldest();
    }
  }

  private start(block: Buffer, last: boolean): void {
    // One output buffer big enough for the whole block (deflate's worst case grows the input by
    // ~0.1%): the block compresses in one pass on the pool instead of a round trip per 16 KiB.
    const chunkSize = Math.max(64 * 1024, block.length + (block.length >> 8) + 1024);
    const options: zlib.ZlibOptions = { level: this.level, chunkSize, finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH };
    if (this.dictionary) options.dictionary = this.dictionary;
    const pending = deflateRaw(block, options);
    pending.catch(() => undefined); // awaited in order when written out; this keeps an early failure from being unhandled
    this.pending.push(pending);
    // The next block may refer back into this one: copy its tail (the block itself is released).
    this.dictionary = Buffer.from(block.subarray(Math.max(0, block.length - WINDOW)));
  }

  private async writeOldest(): Promise<void> {
    const output = await (this.pending.shift() as Promise<Buffer>);
    if (!this.started) {
      this.started = true;
      this.push(HEADER);
    }
    this.push(output);
  }

  private async finish(): Promise<void> {
    this.start(Buffer.concat(this.parts), true);
    this.parts = [];
    this.buffered = 0;
    while (this.pending.length > 0) await this.writeOldest();
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    trailer.writeUInt32LE(this.length >>> 0, 4);
    this.push(trailer);
  }
}
