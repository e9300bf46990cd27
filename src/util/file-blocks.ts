/**
 * Reading a large file as fast as it can be consumed: 1 MiB blocks into two buffers taken in turns,
 * the next block read in the thread pool while the caller takes this one. A read stream of the
 * same file (a new buffer per chunk) costs 3-5x as much here: hashing 52 MB took 155-180 ms with
 * 64 KiB chunks and 93 ms with 1 MiB chunks, against 32-37 ms so, the hash's own 31-34 ms
 * (`docs/performance.md`). Used by the context checksum and by a layer's large files.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';

/** Blocks are read this large. */
export const BLOCK_SIZE = 1024 * 1024;

/** Two buffers of `BLOCK_SIZE`, for a caller that reads many files to use again and again. */
export function blockBuffers(): [Buffer, Buffer] {
  return [Buffer.allocUnsafe(BLOCK_SIZE), Buffer.allocUnsafe(BLOCK_SIZE)];
}

export interface ReadBlocksOptions {
  /** Read no more than this many bytes. */
  limit?: number;
  buffers?: [Buffer, Buffer];
  /** Stops the reading between blocks. */
  signal?: AbortSignal;
}

/**
 * Reads `handle` from its position to its end (or `limit` bytes) and gives each block to `take`,
 * which is done with it when it returns (or its promise resolves): the buffer is then filled
 * again. Returns how many bytes were read.
 */
export async function readBlocks(handle: FileHandle, take: (block: Buffer) => unknown, options: ReadBlocksOptions = {}): Promise<number> {
  const buffers = options.buffers ?? blockBuffers();
  const limit = options.limit ?? Infinity;
  let total = 0;
  let which = 0;
  const read = (): Promise<{ bytesRead: number; buffer: Buffer }> => {
    const buffer = buffers[which as 0 | 1];
    return handle.read(buffer, 0, Math.min(BLOCK_SIZE, limit - total), null).then(({ bytesRead }) => ({ bytesRead, buffer }));
  };
  let next = total < limit ? read() : undefined;
  try {
    while (next) {
      const { bytesRead, buffer } = await next;
      next = undefined;
      if (bytesRead === 0) break;
      total += bytesRead;
      options.signal?.throwIfAborted();
      which ^= 1;
      if (total < limit) next = read();
      await take(buffer.subarray(0, bytesRead));
    }
  } finally {
    await next?.catch(() => undefined); // the read a failure overtook: the caller closes the file only after it
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
