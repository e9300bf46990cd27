import type { FileHandle } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { EarlyWriteback } from '../../src/util/early-writeback.js';

/** A file handle whose `datasync` calls are counted and finish when the test says (or fail with `error`). */
function handleWithSyncs(error?: Error): { handle: FileHandle; started: () => number; finish: () => Promise<void> } {
  const pending: Array<() => void> = [];
  let started = 0;
  const handle = {
    datasync: () =>
      new Promise<void>((resolve, reject) => {
        started++;
        pending.push(() => (error ? reject(error) : resolve()));
      }),
  } as unknown as FileHandle;
  const finish = async (): Promise<void> => {
    for (const done of pending.splice(0)) done();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { handle, started: () => started, finish };
}

describe('EarlyWriteback', () => {
  // Writes of `sizes` bytes with a threshold of 10; `finishAfter`: after which writes the sync in flight finishes.
  it.each([
    { name: 'less than the threshold in all: no sync', sizes: [3, 3, 3], finishAfter: [], syncs: 0 },
    { name: 'the threshold reached: one sync', sizes: [6, 4], finishAfter: [], syncs: 1 },
    { name: 'one at a time: no second sync while the first runs', sizes: [10, 10, 10, 10], finishAfter: [], syncs: 1 },
    { name: 'a new sync once the last finished and enough was written since', sizes: [10, 10, 10], finishAfter: [0], syncs: 2 },
    { name: 'the count starts again at each sync: 8 bytes since are not enough', sizes: [12, 4, 4], finishAfter: [0, 1, 2], syncs: 1 },
    { name: 'the count starts again at each sync: 12 bytes since are', sizes: [12, 4, 4, 4], finishAfter: [0, 1, 2, 3], syncs: 2 },
    { name: 'every threshold after each finished sync', sizes: [10, 10, 10, 10], finishAfter: [0, 1, 2, 3], syncs: 4 },
  ])('$name', async ({ sizes, finishAfter, syncs }) => {
    const { handle, started, finish } = handleWithSyncs();
    const writeback = new EarlyWriteback(handle, 10);
    for (const [i, size] of sizes.entries()) {
      writeback.wrote(size);
      if (finishAfter.includes(i)) await finish();
    }
    expect(started()).toBe(syncs);
    let idle = false;
    const waiting = writeback.idle().then(() => (idle = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(idle).toBe(syncs === 0 || finishAfter.includes(sizes.length - 1));
    await finish();
    await waiting;
    await expect(writeback.settled()).resolves.toBeUndefined();
  });

  it('a failed early sync is thrown by settled (the last fsync would not report it again), idle still resolves, and no sync follows', async () => {
    const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    const { handle, started, finish } = handleWithSyncs(eio);
    const writeback = new EarlyWriteback(handle, 10);
    writeback.wrote(10);
    await finish();
    writeback.wrote(10);
    expect(started()).toBe(1);
    await expect(writeback.idle()).resolves.toBeUndefined();
    await expect(writeback.settled()).rejects.toBe(eio);
  });
});
