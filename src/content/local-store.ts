/**
 * The on-disk content store: `<root>/blobs/sha256/<hex>`, written through `<root>/ingest/<random>`.
 *
 * Crash safety: bytes go to a private ingest file, which is fsynced, verified, and only then renamed
 * into place (rename is atomic), so a blob path holds either nothing or the whole, correct blob.
 * The disk starts writing a large blob while it is still being written (`util/early-writeback.ts`),
 * so that the last fsync has only the tail left.
 * Several processes may write the same blob at once: each has its own ingest file and the renames
 * are equivalent. Ingest files are named after their writer (`w-<owner>-<random>`, `util/owner.ts`):
 * those a killed process left are garbage, never blobs, and `cleanIngest` removes them (and any
 * file without an owner once it is a day old). A full disk is one error naming what was being
 * written (the writer's `label`) and leaves no ingest file. A stored blob that no longer verifies
 * when read is removed (see `damaged`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { type Stats } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable, type Readable } from 'node:stream';
import { digestHex, isDigest, type Digest } from '../digest/digest.js';
import { DigestMismatchError, verifyingStream } from '../digest/hashing.js';
import { IntegrityError, InternalError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { ownerAlive, ownerIn, ownerTag } from '../util/owner.js';
import type { BlobInfo, ContentStore, ContentWriter, Expected, WriteOptions } from './store.js';
import { namesIn, statIfExists, unlessAbsent } from '../util/absent.js';
import { diskFullError, isDiskFull } from '../util/disk-full.js';
import { EarlyWriteback } from '../util/early-writeback.js';

const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
/** Ingest files untouched for this long belong to a dead writer. */
const STALE_INGEST_MS = 24 * 60 * 60 * 1000;

/** A content store rooted at `root` (created on first write). */
export class LocalContentStore implements ContentStore {
  private readonly blobs: string;
  private readonly ingestDir: string;

  constructor(readonly root: string) {
    this.blobs = path.join(root, 'blobs', 'sha256');
    this.ingestDir = path.join(root, 'ingest');
  }

  /** The path a blob lives at. */
  blobPath(digest: Digest): string {
    return path.join(this.blobs, digestHex(digest));
  }

  async info(digest: Digest): Promise<BlobInfo | undefined> {
    try {
      const stats = await stat(this.blobPath(digest));
      return { digest, size: stats.size, updated: stats.mtimeMs };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async reader(digest: Digest, options: { signal?: AbortSignal } = {}): Promise<Readable> {
    const file = this.blobPath(digest);
    // Opened first and identified by the open file, so a damaged copy is told from one renamed in later.
    const handle = await unlessAbsent(open(file, 'r'));
    if (!handle) throw new NotFoundError(`blob ${digest} not found in the content store`);
    const opened = await handle.stat().catch(async (err: unknown) => {
      await handle.close();
      throw err;
    });
    const stream = handle.createReadStream(options.signal ? { signal: options.signal } : {});
    const verify = verifyingStream(digest, opened.size, 'stored blob', (err) => this.damaged(digest, opened, err));
    stream.on('error', (err) => verify.destroy(err));
    // A consumer that stops early destroys `verify` only: the file (a FileHandle) closes with it.
    verify.once('close', () => stream.destroy());
    return stream.pipe(verify);
  }

  /**
   * A stored blob that does not verify (a flipped bit, a hand edit) is removed, so that the next
   * pull or build fetches or makes it again instead of finding it present; the error says so.
   * Only the file that was read goes: a writer may have renamed a good copy into place meanwhile.
   */
  private async damaged(digest: Digest, opened: Stats, err: Error): Promise<Error> {
    const file = this.blobPath(digest);
    const now = await statIfExists(file);
    const same = now !== undefined && now.ino === opened.ino && now.mtimeMs === opened.mtimeMs;
    if (same) await unlessAbsent(unlink(file));
    const reason = err instanceof DigestMismatchError ? `its bytes hash to ${err.actual}` : err.message;
    const outcome = same ? ' and was removed; the next pull or build fetches or makes it again' : '; it has been replaced since';
    return new IntegrityError(`stored blob ${digest} is damaged (${reason})${outcome}`, { cause: err });
  }

  async verify(digest: Digest): Promise<void> {
    await pipeline(await this.reader(digest), new Writable({ write: (_chunk, _encoding, done) => done() }));
  }

  async readBytes(digest: Digest, maxBytes = DEFAULT_MAX_BYTES): Promise<Buffer> {
    const info = await this.info(digest);
    if (!info) throw new NotFoundError(`blob ${digest} not found in the content store`);
    if (info.size > maxBytes) throw new InvalidArgumentError(`blob ${digest} is ${info.size} bytes, more than the ${maxBytes} allowed here`);
    const chunks: Buffer[] = [];
    for await (const chunk of await this.reader(digest)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async writer(options: WriteOptions = {}): Promise<ContentWriter> {
    const label = options.label ?? 'a blob';
    const failure = (err: unknown): unknown => (isDiskFull(err) ? diskFullError(label, this.root, err) : err);
    await mkdir(this.ingestDir, { recursive: true }).catch((err: unknown) => Promise.reject(failure(err)));
    const ingest = path.join(this.ingestDir, `w-${ownerTag()}-${randomBytes(8).toString('hex')}`);
    const handle = await open(ingest, 'wx', 0o644).catch((err: unknown) => Promise.reject(failure(err)));
    const hash = createHash('sha256');
    const writeback = new EarlyWriteback(handle);
    let size = 0;
    // The first failure of a write (a full disk): every later write and the commit fail with it.
    let writeError: Error | undefined;
    // The last write given: the next one and the file's close come after it.
    let writing: Promise<unknown> = Promise.resolve();
    let done = false;
    const writeAll = async (chunks: readonly Buffer[]): Promise<void> => {
      if (done) throw new InternalError('content writer used after commit or abort');
      if (writeError !== undefined) throw writeError;
      options.signal?.throwIfAborted();
      let bytes = 0;
      for (const chunk of chunks) {
        hash.update(chunk);
        bytes += chunk.length;
      }
      size += bytes;
      // A write may be given before the one before it has finished: it follows that one.
      const written = writing
        .then(() => (writeError === undefined ? writeFully(handle, chunks) : Promise.reject(writeError)))
        .then(() => writeback.wrote(bytes))
        .catch((err: unknown) => {
          writeError ??= err as Error;
          throw err;
        });
      writing = written.catch(() => undefined); // the close waits for it; the caller gets the failure below
      await written;
    };
    const stream = new Writable({
      highWaterMark: 1024 * 1024,
      writev: (chunks, callback) => void writeAll(chunks.map((c) => c.chunk as Buffer)).then(() => callback(), callback),
    });
    const finished = new Promise<void>((resolve, reject) => {
      stream.once('finish', resolve);
      stream.once('error', reject);
    });
    finished.catch(() => undefined); // observed in commit
    const close = async (): Promise<void> => {
      await writing;
      await writeback.idle();
      await handle.close().catch(() => undefined); // what was written is already judged: a close error adds nothing
    };
    const abort = async (cause?: unknown): Promise<unknown> => {
      const first = !done;
      done = true;
      if (first) {
        stream.destroy();
        await close();
        await rm(ingest, { force: true });
      }
      return failure(isDiskFull(writeError) ? writeError : cause);
    };
    const commit = async (expected?: Expected): Promise<BlobInfo> => {
      if (done) throw new InternalError('content writer used after commit or abort');
      try {
        // What was written through the stream is all on disk once it has finished.
        if (!stream.writableFinished) {
          stream.end();
          await finished;
        }
        done = true;
        await writing;
        if (writeError !== undefined) throw writeError;
        const digest = `sha256:${hash.digest('hex')}` as Digest;
        if (expected && expected.digest !== digest) throw new DigestMismatchError(expected.digest, digest, 'blob');
        if (expected?.size !== undefined && expected.size !== size) {
          throw new IntegrityError(`blob ${digest} has ${size} bytes, expected ${expected.size}`);
        }
        await writeback.settled();
        await handle.sync();
        await close();
        await mkdir(this.blobs, { recursive: true });
        await rename(ingest, this.blobPath(digest));
        await fsyncFile(this.blobs);
        return { digest, size };
      } catch (err) {
        done = true;
        stream.destroy();
        await close();
        await rm(ingest, { force: true });
        throw failure(err);
      }
    };
    return { stream, write: (chunk) => writeAll([chunk]), commit, abort };
  }

  async ingest(source: Readable, expected: Expected, options: WriteOptions = {}): Promise<BlobInfo> {
    const existing = await this.info(expected.digest);
    if (existing && (expected.size === undefined || existing.size === expected.size)) {
      source.destroy();
      return existing;
    }
    const writer = await this.writer({ label: `blob ${expected.digest}`, ...options });
    try {
      await pipeline(source, writer.stream, { end: false, ...(options.signal ? { signal: options.signal } : {}) });
    } catch (err) {
      throw await writer.abort(err);
    }
    return writer.commit(expected);
  }

  async delete(digest: Digest): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  async *walk(): AsyncIterable<BlobInfo> {
    let names: string[];
    try {
      names = await readdir(this.blobs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const name of names.sort()) {
      const digest = `sha256:${name}`;
      if (!isDigest(digest)) continue;
      const info = await this.info(digest);
      if (info) yield info;
    }
  }

  /**
   * Removes the ingest files of writers that no longer run, and files without an owner older than
   * `olderThanMs`. Returns how many.
   */
  async cleanIngest(olderThanMs = STALE_INGEST_MS): Promise<number> {
    let removed = 0;
    const names = await namesIn(this.ingestDir);
    for (const name of names) {
      const file = path.join(this.ingestDir, name);
      const owner = ownerIn(name);
      let stale = owner !== undefined && !ownerAlive(owner);
      if (owner === undefined) {
        const info = await statIfExists(file);
        stale = info !== undefined && Date.now() - info.mtimeMs >= olderThanMs;
      }
      if (stale) {
        await unlessAbsent(unlink(file));
        removed++;
      }
    }
    return removed;
  }
}

/** Writes `chunks` in order at the file's position, however many calls that takes. */
async function writeFully(handle: FileHandle, chunks: readonly Buffer[]): Promise<void> {
  let rest = chunks.filter((c) => c.length > 0);
  while (rest.length > 0) {
    let { bytesWritten } = await handle.writev(rest);
    // A short write (rare for a regular file): drop what went, carry on with the rest.
    while (rest.length > 0 && bytesWritten >= (rest[0] as Buffer).length) bytesWritten -= (rest.shift() as Buffer).length;
    if (rest.length > 0 && bytesWritten > 0) rest = [(rest[0] as Buffer).subarray(bytesWritten), ...rest.slice(1)];
  }
}

async function fsyncFile(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
