/**
 * Writing a tar stream: the bytes tar-stream's `pack()` writes for the same entries, without its
 * per-entry streams. A layer of 2,000 small files went through 2,000 entry streams, three pushed
 * chunks each and an async iteration per chunk (about 100 µs an entry in a fresh process, where
 * the command always runs); here each header is encoded by tar-stream's own encoder and small
 * entries are gathered into 1 MiB chunks, so the consumer (a hash, a file) sees a few dozen writes.
 * `test/archive/tar-writer.test.ts` checks the bytes against `pack()` entry type by entry type.
 *
 * Written to a sink (`TarWriter.toSink`) instead of a stream, a large file's body goes in 1 MiB
 * blocks read into three buffers that are used again and again: the next block is read while the
 * sink takes the ones before. Through streams every chunk is a new buffer, and reading, hashing and
 * writing 52 MB took about 90 ms against 48 ms with two buffers (`docs/performance.md`). Small
 * files and headers are gathered in one buffer that is used again after each write too.
 */
import { closeSync, constants, createReadStream, openSync, readFileSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Readable } from 'node:stream';
import { InvalidArgumentError } from '../errors.js';
import { BLOCK_SIZE, blockBuffers, readBlocks } from '../util/file-blocks.js';
import type { TarHeader } from './tar.js';

/** The header fields tar-stream's encoder reads. */
interface EncodedHeader {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  linkname?: string;
  uname?: string;
  gname?: string;
  devmajor?: number;
  devminor?: number;
}

interface HeaderCodec {
  /** A ustar header block, or null when the entry needs a PAX header (long or non-ASCII names). */
  encode(header: EncodedHeader): Buffer | null;
  encodePax(fields: { name: string; linkname?: string; pax?: Record<string, string> }): Buffer;
}

let loadedCodec: HeaderCodec | undefined;

/**
 * tar-stream's header codec. Its package exports only its streams; the codec is the module they
 * use, loaded from the package's own directory so that the format stays the library's, not ours.
 * Loaded on first use: resolving the package and compiling the module took 4-5 ms of every
 * command's start, a no-op build included, which writes no tar.
 */
function headerCodec(): HeaderCodec {
  if (!loadedCodec) {
    const requireHere = createRequire(import.meta.url);
    loadedCodec = requireHere(path.join(path.dirname(requireHere.resolve('tar-stream')), 'headers.js')) as HeaderCodec;
  }
  return loadedCodec;
}

const BLOCK = 512;
const ZEROS = Buffer.alloc(2 * BLOCK);
/** Small entries are gathered up to this size before the consumer sees them. */
const CHUNK = 1024 * 1024;
/** A body chunk at least this large goes to the consumer as it is, not copied into a batch. */
const DIRECT = 64 * 1024;
/**
 * With a sink, entries are gathered in one buffer used again and again: a chunk, plus room for the
 * entry that crosses its end (a small file of up to 256 KiB with its headers, as `addSmallFile`
 * takes them).
 */
const GATHER = CHUNK + 256 * 1024 + 64 * 1024;

/** Takes the tar bytes in order; resolves once it is done with `chunk` (the writer may then reuse it). */
export type TarSink = (chunk: Buffer) => Promise<void>;

/** A tar writer: add entries in order, then `finish()`; `stream` is the tar bytes (unless written to a sink). */
export class TarWriter {
  /** The tar bytes as a Node stream (nothing flows through it when the writer has a sink). */
  readonly stream: Readable;
  private parts: Buffer[] = [];
  private pending = 0;
  /** With a sink: the buffer entries are gathered in, its first `gathered` bytes (`parts` come after them). */
  private gather: Buffer | undefined;
  private gathered = 0;
  private room: (() => void) | undefined;
  private failure: Error | undefined;
  private sink: TarSink | undefined;
  /** The buffers a file's blocks are read into, with a sink (made on first use). */
  private blocks: Buffer[] | undefined;

  /** A writer that hands its bytes to `sink` instead of a stream. */
  static toSink(sink: TarSink): TarWriter {
    const writer = new TarWriter();
    writer.sink = sink;
    writer.gather = Buffer.allocUnsafe(GATHER);
    return writer;
  }

  constructor() {
    this.stream = new Readable({
      highWaterMark: CHUNK,
      read: () => this.wake(),
      destroy: (err, done) => {
        this.failure ??= err ?? new Error('the tar stream was closed before its end');
        this.wake();
        done(err);
      },
    });
  }

  /** Adds an entry; for files, `body` supplies exactly `header.size` bytes (a buffer: a small file whole). */
  async add(header: TarHeader, body?: Readable | Buffer): Promise<void> {
    this.check();
    const isFile = header.type === 'file';
    const size = isFile ? (Buffer.isBuffer(body) ? body.length : (header.size ?? 0)) : 0;
    for (const block of headerBlocks(header, size)) this.queue(block);
    if (Buffer.isBuffer(body)) {
      if (isFile) this.queue(body);
    } else if (isFile && body) {
      await this.copyBody(body, size, header.name);
    } else if (size > 0) {
      throw sizeMismatch(header.name, size, 0);
    }
    this.pad(size);
    if (this.pending >= CHUNK) await this.flush();
  }

  /**
   * Adds the regular file `file` as an entry of `header.size` bytes (a large one: a small file is
   * best given whole to `add`). Fails as `add` does when the file has another size by now.
   */
  async addFile(header: TarHeader, file: string): Promise<void> {
    if (!this.sink) return this.add(header, createReadStream(file, { highWaterMark: BLOCK_SIZE }));
    this.check();
    const size = header.size ?? 0;
    for (const block of headerBlocks(header, size)) this.queue(block);
    await this.flush();
    await this.copyFile(file, size, header.name, this.sink);
    this.pad(size);
    if (this.pending >= CHUNK) await this.flush();
  }

  /**
   * Adds the regular file `file`, small enough to read whole (`header.size` bytes, at most 256 KiB),
   * as `add` would with its bytes. With a sink it is read straight into the buffer entries are
   * gathered in: no buffer of its own (a layer of 2,000 small files made 2,000 of them, and copied
   * each once more into the chunk). A file whose size is no longer `header.size` is read again
   * whole and written as it is now, as `add` writes what it is given.
   */
  async addSmallFile(header: TarHeader, file: string): Promise<void> {
    const gather = this.gather;
    if (!gather) return this.add(header, readFileSync(file));
    this.check();
    const size = header.size ?? 0;
    const blocks = headerBlocks(header, size);
    let headerBytes = 0;
    for (const block of blocks) headerBytes += block.length;
    // One byte more than the size is read, to see whether the file has grown.
    const room = headerBytes + size + 1 + (BLOCK - 1);
    if (this.parts.length > 0 || this.gathered + room > gather.length) await this.flush();
    if (room > gather.length) return this.add(header, readFileSync(file));
    const bodyAt = this.gathered + headerBytes;
    if (readInto(file, gather, bodyAt, size + 1) !== size) return this.add(header, readFileSync(file));
    for (const block of blocks) this.gathered += block.copy(gather, this.gathered);
    this.gathered += size;
    this.pending = this.gathered;
    this.pad(size);
    if (this.pending >= CHUNK) await this.flush();
  }

  /** Writes the end-of-archive blocks and ends `stream` (or gives the sink the last bytes). */
  async finish(): Promise<void> {
    this.check();
    this.queue(ZEROS);
    if (this.sink) {
      await this.flush();
      return;
    }
    this.stream.push(this.take());
    this.stream.push(null);
  }

  destroy(err?: Error): void {
    // With a sink nobody reads the stream: an error emitted there would go unhandled.
    if (this.sink) this.failure ??= err ?? new Error('the tar writer was closed before its end');
    else this.stream.destroy(err);
  }

  private async copyBody(body: Readable, size: number, name: string): Promise<void> {
    let written = 0;
    try {
      for await (const chunk of body) {
        const bytes = chunk as Buffer;
        written += bytes.length;
        if (written > size) break;
        if (bytes.length >= DIRECT) {
          await this.flush();
          await this.send(bytes);
        } else {
          this.queue(bytes);
          if (this.pending >= CHUNK) await this.flush();
        }
      }
    } catch (err) {
      body.destroy();
      throw err;
    }
    if (written !== size) {
      body.destroy();
      throw sizeMismatch(name, size, written);
    }
  }

  /** `size` bytes of `file` to the sink, one block read while the sink takes the ones before. */
  private async copyFile(file: string, size: number, name: string, sink: TarSink): Promise<void> {
    const handle = await open(file, 'r');
    try {
      const buffers = (this.blocks ??= blockBuffers());
      const read = await readBlocks(
        handle,
        (block) => {
          this.check();
          return sink(block);
        },
        { limit: size, buffers },
      );
      if (read < size) throw sizeMismatch(name, size, read);
      // One more byte says whether the file has grown.
      if ((await handle.read(Buffer.alloc(1), 0, 1, null)).bytesRead > 0) throw sizeMismatch(name, size, (await handle.stat()).size);
    } finally {
      await handle.close();
    }
  }

  private queue(bytes: Buffer): void {
    const gather = this.gather;
    if (gather && this.parts.length === 0 && this.gathered + bytes.length <= gather.length) {
      this.gathered += bytes.copy(gather, this.gathered);
    } else {
      // Without a sink, or bytes that do not fit (and everything after them until the next flush).
      this.parts.push(bytes);
    }
    this.pending += bytes.length;
  }

  private pad(size: number): void {
    const over = size % BLOCK;
    if (over > 0) this.queue(ZEROS.subarray(0, BLOCK - over));
  }

  private take(): Buffer {
    const bytes = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.pending);
    this.parts = [];
    this.pending = 0;
    return bytes;
  }

  private async flush(): Promise<void> {
    if (this.pending === 0) return;
    if (this.gather) {
      // The sink is done with the gathered bytes when it resolves: only then are they overwritten.
      const gathered = this.gathered;
      const rest = this.parts;
      this.gathered = 0;
      this.parts = [];
      this.pending = 0;
      if (gathered > 0) await this.send(this.gather.subarray(0, gathered));
      if (rest.length > 0) await this.send(rest.length === 1 ? (rest[0] as Buffer) : Buffer.concat(rest));
      return;
    }
    await this.send(this.take());
  }

  /** Hands `bytes` to the consumer; waits while it is behind. */
  private async send(bytes: Buffer): Promise<void> {
    this.check();
    if (this.sink) {
      await this.sink(bytes);
      return;
    }
    if (this.stream.push(bytes)) return;
    await new Promise<void>((resolve) => (this.room = resolve));
    this.check();
  }

  private wake(): void {
    const room = this.room;
    this.room = undefined;
    room?.();
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }
}

/**
 * The header blocks tar-stream's `pack().entry()` writes for `header`: one ustar block, or a PAX
 * header (path, link target, xattrs), its records, their padding and the ustar block.
 */
function headerBlocks(header: TarHeader, size: number): Buffer[] {
  const codec = headerCodec();
  let pax: Record<string, string> | undefined;
  if (header.xattrs) {
    for (const [key, value] of Object.entries(header.xattrs)) (pax ??= {})[`SCHILY.xattr.${key}`] = value.toString('latin1');
  }
  const hasPax = pax !== undefined;
  const fields: EncodedHeader = {
    name: header.name,
    type: header.type,
    // As `pack()` does: a zero mode becomes the type's default (whiteouts are written with mode 0).
    mode: header.mode || (header.type === 'directory' ? 0o755 : 0o644),
    uid: header.uid,
    gid: header.gid,
    size,
    mtime: header.mtime,
  };
  if (header.linkname !== undefined) fields.linkname = header.linkname;
  if (header.devmajor !== undefined) {
    fields.devmajor = header.devmajor;
    fields.devminor = header.devminor ?? 0;
  }
  if (!hasPax) {
    const block = codec.encode(fields);
    if (block) return [block];
  }
  const records = codec.encodePax({ name: fields.name, ...(fields.linkname ? { linkname: fields.linkname } : {}), ...(pax ? { pax } : {}) });
  const paxHeader: EncodedHeader = {
    ...fields,
    name: 'PaxHeader',
    type: 'pax-header',
    size: records.length,
    ...(fields.linkname ? { linkname: 'PaxHeader' } : {}),
  };
  const blocks = [codec.encode(paxHeader) as Buffer, records];
  const over = records.length % BLOCK;
  if (over > 0) blocks.push(ZEROS.subarray(0, BLOCK - over));
  blocks.push(codec.encode({ ...paxHeader, size, type: fields.type }) as Buffer);
  return blocks;
}

/**
 * Opens `file` to read without updating its access time where this process may (its owner, or root):
 * a layer's small files are mostly hard links of the context's copies, whose change time moves with
 * every new link, so each read would write the inode back again (2-6 ms of 2,000 files).
 */
function openForReading(file: string): number {
  try {
    return openSync(file, constants.O_RDONLY | constants.O_NOATIME);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    return openSync(file, 'r');
  }
}

/** Reads up to `length` bytes of `file` into `target` at `offset`; returns how many there were. */
function readInto(file: string, target: Buffer, offset: number, length: number): number {
  const fd = openForReading(file);
  try {
    let total = 0;
    for (let n = -1; n !== 0 && total < length; total += n) n = readSync(fd, target, offset + total, length - total, null);
    return total;
  } finally {
    closeSync(fd);
  }
}

function sizeMismatch(name: string, expected: number, got: number): InvalidArgumentError {
  return new InvalidArgumentError(`${name} changed while it was written to the archive: ${got} bytes where it had ${expected}`);
}
