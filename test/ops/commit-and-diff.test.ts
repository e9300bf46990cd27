/**
 * The order of a step's last moves (`ops/active-snapshot.ts`, `commitAndDiff`): the unmount of its
 * rootfs, its layer, its commit and the hand-on to the next step. Each move is held until the test
 * lets it go, and every start and end is recorded.
 */
import { describe, expect, it } from 'vitest';
import type { Differ } from '../../src/diff/differ.js';
import { commitAndDiff } from '../../src/ops/active-snapshot.js';
import type { Snapshotter } from '../../src/snapshot/snapshotter.js';

interface Held<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: Error): void;
}

function held<T>(): Held<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Starts commitAndDiff with every move held; `events` records what happened, in order. */
function start(readsOnly: boolean, withUnmount: boolean) {
  const events: string[] = [];
  const unmount = held<void>();
  const layer = held<string>();
  const snapshotter = {
    commit: async (name: string, key: string) => {
      events.push(`commit ${key} as ${name}`);
    },
  } as unknown as Snapshotter;
  const differ = { readsOnly: () => readsOnly } as unknown as Differ;
  const unmounted = withUnmount
    ? unmount.promise.then(
        () => void events.push('unmounted'),
        (err: Error) => {
          events.push('unmount failed');
          throw err;
        },
      )
    : undefined;
  const result = commitAndDiff(
    { snapshotter, differ },
    { key: 'active', mounts: [], ...(unmounted ? { unmounted } : {}) },
    'step',
    () => events.push('committed'),
    () => {
      events.push('layer starts');
      return layer.promise.finally(() => events.push('layer ends'));
    },
  ).then(
    (value) => void events.push(`returned ${value}`),
    (err: Error) => void events.push(`threw ${err.message}`),
  );
  return { events, unmount, layer, result };
}

describe('commitAndDiff', () => {
  it('a differ that only reads starts the layer while the rootfs is unmounted; the commit and the hand-on wait for the unmount', async () => {
    const run = start(true, true);
    await tick();
    expect(run.events).toEqual(['layer starts']);
    run.unmount.resolve();
    await tick();
    expect(run.events).toEqual(['layer starts', 'unmounted', 'commit active as step', 'committed']);
    run.layer.resolve('sha256:l');
    await run.result;
    expect(run.events.slice(4)).toEqual(['layer ends', 'returned sha256:l']);
  });

  it('the layer may end before the unmount: the commit still waits for it', async () => {
    const run = start(true, true);
    run.layer.resolve('sha256:l');
    await tick();
    expect(run.events).toEqual(['layer starts', 'layer ends']);
    run.unmount.resolve();
    await run.result;
    expect(run.events).toEqual(['layer starts', 'layer ends', 'unmounted', 'commit active as step', 'committed', 'returned sha256:l']);
  });

  it('a differ that corrects the upper dir (fuse-overlayfs) writes the layer after the unmount and before the commit', async () => {
    const run = start(false, true);
    await tick();
    expect(run.events).toEqual([]);
    run.unmount.resolve();
    await tick();
    expect(run.events).toEqual(['unmounted', 'layer starts']);
    run.layer.resolve('sha256:l');
    await run.result;
    expect(run.events).toEqual(['unmounted', 'layer starts', 'layer ends', 'commit active as step', 'committed', 'returned sha256:l']);
  });

  it('a failed unmount is the error, thrown once the layer no longer reads the snapshot; nothing is committed', async () => {
    const run = start(true, true);
    run.unmount.reject(new Error('umount: target is busy'));
    await tick();
    expect(run.events).toEqual(['layer starts', 'unmount failed']);
    run.layer.reject(new Error('aborted'));
    await run.result;
    expect(run.events).toEqual(['layer starts', 'unmount failed', 'layer ends', 'threw umount: target is busy']);
  });

  it('without an unmount (a file step), the commit and the hand-on come as soon as the layer has started', async () => {
    const run = start(true, false);
    await tick();
    expect(run.events).toEqual(['layer starts', 'commit active as step', 'committed']);
    run.layer.resolve('sha256:l');
    await run.result;
    expect(run.events.slice(3)).toEqual(['layer ends', 'returned sha256:l']);
  });
});
