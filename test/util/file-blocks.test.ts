/**
 * `readBlocks` and `fileSha256` over it (`util/file-blocks.ts`): a file read in 1 MiB blocks into
 * buffers taking turns. Sizes around the block size catch a block hashed twice, skipped or hashed
 * past its end; the answer is what hashing the whole file at once gives. A taker that is slow to be
 * done with a block (a content store writing it) is given the next one meanwhile, and no buffer is
 * filled again before its taker is done with it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileSha256, readBlocks } from '../../src/util/file-blocks.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-file-sha256-');
const MiB = 1024 * 1024;

describe('fileSha256', () => {
  it.each([0, 1, MiB - 1, MiB, MiB + 1, 2 * MiB, 3.5 * MiB])('a file of %i bytes: the digest of its bytes', async (size) => {
    const file = path.join(tempDir(), 'f');
    const bytes = randomBytes(size);
    writeFileSync(file, bytes);
    expect(await fileSha256(file)).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('an empty file: the digest of nothing', async () => {
    const file = path.join(tempDir(), 'empty');
    writeFileSync(file, '');
    expect(await fileSha256(file)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('stops when its signal is aborted, and says why', async () => {
    const file = path.join(tempDir(), 'f');
    writeFileSync(file, randomBytes(3 * MiB));
    const controller = new AbortController();
    controller.abort(new Error('stopped'));
    await expect(fileSha256(file, controller.signal)).rejects.toThrow('stopped');
  });

  it('a missing file: ENOENT naming it', async () => {
    const file = path.join(tempDir(), 'missing');
    await expect(fileSha256(file)).rejects.toMatchObject({ code: 'ENOENT', path: file });
  });
});

describe('readBlocks', () => {
  /**
   * Reads `file` with a taker that is done with a block only when it is given the next one (or,
   * for the last, 20 ms later): a reader that waited for the taker before giving it the next block
   * would have one block at the taker at a time.
   */
  async function slowTaker(file: string, limit?: number): Promise<{ read: number; bytes: Buffer; mostAtOnce: number; calls: number }> {
    const got: Buffer[] = [];
    let pending = 0;
    let mostAtOnce = 0;
    let releaseLast: (() => void) | undefined;
    const handle = await open(file, 'r');
    try {
      const read = await readBlocks(
        handle,
        async (block) => {
          const copy = Buffer.from(block);
          got.push(copy);
          mostAtOnce = Math.max(mostAtOnce, ++pending);
          const released = new Promise<void>((resolve) => {
            releaseLast?.();
            releaseLast = resolve;
          });
          await Promise.race([released, new Promise((resolve) => setTimeout(resolve, 20))]);
          // Nobody filled this buffer again while the taker had it.
          expect(block.equals(copy)).toBe(true);
          pending--;
        },
        limit === undefined ? {} : { limit },
      );
      return { read, bytes: Buffer.concat(got), mostAtOnce, calls: got.length };
    } finally {
      await handle.close();
    }
  }

  it.each([
    [0, undefined, 0, 0],
    [MiB + 1, undefined, MiB + 1, 2],
    [5 * MiB, undefined, 5 * MiB, 5],
    [5 * MiB, 2 * MiB + 3, 2 * MiB + 3, 3],
  ])('a file of %i bytes, limit %s: %i bytes in %i blocks, in order, the next given before the last is done', async (size, limit, read, calls) => {
    const file = path.join(tempDir(), 'f');
    const bytes = randomBytes(size);
    writeFileSync(file, bytes);
    const result = await slowTaker(file, limit);
    expect([result.read, result.calls, result.bytes.equals(bytes.subarray(0, read))]).toEqual([read, calls, true]);
    expect(result.mostAtOnce).toBe(Math.min(calls, 2));
  });

  it('a taker that fails stops the reading with its error', async () => {
    const file = path.join(tempDir(), 'f');
    writeFileSync(file, randomBytes(4 * MiB));
    const handle = await open(file, 'r');
    let calls = 0;
    try {
      await expect(
        readBlocks(handle, async () => {
          if (++calls === 2) throw new Error('disk full');
        }),
      ).rejects.toThrow('disk full');
    } finally {
      await handle.close();
    }
    expect(calls).toBe(2);
  });
});
