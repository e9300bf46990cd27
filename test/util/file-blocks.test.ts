/**
 * `fileSha256` (`util/file-blocks.ts`, over `readBlocks`): a file's sha256 read in 1 MiB blocks,
 * two buffers taking turns. Sizes around the block size catch a block hashed twice, skipped or hashed past its end;
 * the answer is what hashing the whole file at once gives.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileSha256 } from '../../src/util/file-blocks.js';
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
