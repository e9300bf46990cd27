import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tryLock, withFileLock } from '../../src/util/file-lock.js';
import { ownerTag } from '../../src/util/owner.js';
import { isRoot } from '../helpers/root.js';
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

describe('file locks left by accidents', () => {
  it('an empty lock file (an older tsbuild killed while writing it) is taken over once it is a few seconds old', async () => {
    const file = path.join(tempDir(), 'images.json');
    writeFileSync(`${file}.lock`, '');
    expect(await tryLock(file)).toBeUndefined(); // just written: maybe being written right now
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${file}.lock`, old, old);
    const release = await tryLock(file);
    expect(release).toBeTypeOf('function');
    expect(readFileSync(`${file}.lock`, 'utf8')).toBe(ownerTag());
    await release?.();
  });

  it('a lock whose pid now belongs to another process (another start time) is taken over', async () => {
    const file = path.join(tempDir(), 'index.json');
    writeFileSync(`${file}.lock`, `${process.pid}.1`); // this pid, but not this process's start time
    const release = await tryLock(file);
    expect(release).toBeTypeOf('function');
    await release?.();
  });

  it.skipIf(!isRoot)('a full disk fails the lock with ENOSPC and leaves no lock file; the next try after space is freed works', async () => {
    const dir = tempDir();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    try {
      writeFileSync(path.join(dir, 'filler'), Buffer.alloc(64 * 1024));
      const file = path.join(dir, 'metadata.json');
      await expect(tryLock(file)).rejects.toThrow('ENOSPC');
      expect(readdirSync(dir)).toEqual(['filler']);
      unlinkSync(path.join(dir, 'filler'));
      const release = await tryLock(file);
      expect(readdirSync(dir)).toEqual(['metadata.json.lock']);
      await release?.();
    } finally {
      execFileSync('umount', [dir]);
    }
  });
});
