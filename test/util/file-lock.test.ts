import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tryLock, withFileLock } from '../../src/util/file-lock.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-lock-');

describe('file locks', () => {
  it('runs callers of one process one at a time, in the order they came (a queue, not polling)', async () => {
    const file = path.join(tempDir(), 'metadata.json');
    const order: string[] = [];
    let inside = 0;
    let most = 0;
    await Promise.all(
      ['a', 'b', 'c', 'd', 'e', 'f'].map((name) =>
        withFileLock(file, async () => {
          most = Math.max(most, ++inside);
          order.push(name);
          await new Promise((resolve) => setTimeout(resolve, 2));
          inside--;
        }),
      ),
    );
    expect([order.join(''), most]).toEqual(['abcdef', 1]);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it("releases after a failure, and another process's lock is respected until its owner is gone", async () => {
    const file = path.join(tempDir(), 'index.json');
    await expect(withFileLock(file, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await withFileLock(file, async () => 'next')).toBe('next');
    writeFileSync(`${file}.lock`, '1'); // pid 1 is alive: held
    expect(await tryLock(file)).toBeUndefined();
    writeFileSync(`${file}.lock`, '2147483646'); // no such process: taken over
    const release = await tryLock(file);
    expect(release).toBeTypeOf('function');
    await release?.();
    expect(existsSync(`${file}.lock`)).toBe(false);
  });
});
