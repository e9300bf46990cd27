/**
 * Reading a large file as fast as it can be consumed: 1 MiB blocks into buffers taken in turns, the
 * next block read in the thread pool while the caller takes this one. A read stream of the
 * same file (a new buffer per chunk) costs 3-5x as much here: hashing 52 MB took 155-180 ms with
 * 64 KiB chunks and 93 ms with 1 MiB chunks, against 32-37 ms so, the hash's own 31-34 ms
 * (`docs/performance.md`). Used by the context checksum and by a layer's large files.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';

/** Blocks are read this large. */
export const BLOCK_SIZE = 1024 * 1024;

/** Buffers of `BLOCK_SIZE` taken in turns (three), for a caller that reads many files to use again and again. */
export function blockBuffers(): Buffer[] {
  return [Buffer.allocUnsafe(BLOCK_SIZE), Buffer.allocUnsafe(BLOCK_SIZE), Buffer.allocUnsafe(BLOCK_SIZE)];
}

export interface ReadBlocksOptions {
  /** Read no more than this many bytes. */
  limit?: number;
  /** At least two; with three, a block is read while the one before is taken and the one before that written. */
  buffers?: Buffer[];
  /** Stops the reading between blocks. */
  signal?: AbortSignal;
}

/**
 * Reads `handle` from its position to its end (or `limit` bytes) and gives each block to `take`,
 * which is done with it when it returns (or its promise resolves): the buffer is then filled
 * again. `take` is called for the next block before the promise of the one before has resolved
 * (a content store hashes a block when it is given and writes it in order after the others): a
 * buffer is read into again only once the block it held was taken. Returns how many bytes were read.
 */
export async function readBlocks(handle: FileHandle, take: (block: Buffer) => unknown, options: ReadBlocksOptions = {}): Promise<number> {
  const buffers = options.buffers ?? blockBuffers();
  const limit = options.limit ?? Infinity;
  // Whether the block each buffer last held has been taken (the promise of its `take`).
  const taking: Array<Promise<unknown>> = buffers.map(() => Promise.resolve());
  // The first take that failed: no block is given after it.
  let failed: { error: unknown } | undefined;
  let total = 0;
  let slot = 0;
  const readInto = (into: number): Promise<number> =>
    handle.read(buffers[into] as Buffer, 0, Math.min(BLOCK_SIZE, limit - total), null).then(({ bytesRead }) => bytesRead);
  let next = total < limit ? readInto(slot) : undefined;
  try {
    while (next) {
      const bytesRead = await next;
      next = undefined;
      if (bytesRead === 0) break;
      total += bytesRead;
      options.signal?.throwIfAborted();
      const current = slot;
      slot = (slot + 1) % buffers.length;
      if (total < limit) {
        const into = slot;
        next = (taking[into] as Promise<unknown>).then(() => readInto(into));
      }
      if (failed) throw failed.error;
      const taken = take((buffers[current] as Buffer).subarray(0, bytesRead));
      const pending = taken instanceof Promise ? taken : Promise.resolve();
      // Awaited before its buffer is read into again, or below; a failure stops the next take.
      pending.catch((error: unknown) => (failed ??= { error }));
      taking[current] = pending;
    }
    await Promise.all(taking);
  } finally {
    // A read or a take a failure overtook: the caller closes the file and reuses the buffers only after them.
    await next?.catch(() => undefined);
    await Promise.allSettled(taking);
  }
  return total;
}

/** The sha256 (hex) of a file's bytes. */
export async function fileSha256(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(file, 'r');
  try {
    await readBlocks(handle, (block) => hash.update(block), signal ? { signal } : {});
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}
