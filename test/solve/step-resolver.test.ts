/**
 * The step resolver with fake ops and a fake cache (BuildKit's scheduler tests use arithmetic
 * vertices the same way): what it runs, what it takes from the cache or an import, what it shares
 * between identical steps, and what it says while doing so.
 */
import { describe, expect, it } from 'vitest';
import type { Digest } from '../../src/digest/digest.js';
import type { ProgressEvent, StepEvent } from '../../src/progress/events.js';
import { cacheKey } from '../../src/solve/cache-key.js';
import { StepResolver, Unrestorable, type RememberedParts, type StepCache, type StepInfo, type StepOp } from '../../src/solve/step-resolver.js';

/** A cache in a Map, with an import and a log of what was asked. */
class FakeCache implements StepCache<number> {
  readonly stored = new Map<string, number>();
  readonly remembered = new Map<string, RememberedParts>();
  async get(key: Digest): Promise<number | undefined> {
    return this.stored.get(key);
  }
  async put(key: Digest, result: number): Promise<void> {
    this.stored.set(key, result);
  }
  async missReason(location: string, parts: RememberedParts): Promise<string> {
    const last = this.remembered.get(location);
    if (!last) return 'not built before';
    return last.definition === parts.definition ? 'its cached result was removed' : 'the instruction changed';
  }
  async remember(location: string, parts: RememberedParts): Promise<void> {
    this.remembered.set(location, parts);
  }
}

/** An op adding `n` to nothing in particular, counting its runs; `gate` holds a run until opened. */
function addOp(n: number, runs: number[], gate?: Promise<void>): StepOp<number> {
  return {
    key: async () => ({ definition: { add: n }, inputs: [], content: [] }),
    run: async () => {
      await gate;
      runs.push(n);
      return n * 10;
    },
  };
}

const info = (id: string, extra: Partial<StepInfo> = {}): StepInfo => ({
  id,
  name: `step ${id}`,
  location: `Dockerfile#${id}`,
  parentKey: 'base',
  skipCache: false,
  ...extra,
});
const direct = <T>(task: () => Promise<T>): Promise<T> => task();

function setup(): { cache: FakeCache; events: string[]; resolver: StepResolver<number> } {
  const cache = new FakeCache();
  const events: string[] = [];
  const progress = {
    emit: (e: ProgressEvent | StepEvent) =>
      void events.push(e.type === 'step' ? `${e.id}:${e.status}${e.reason ? `(${e.reason})` : ''}` : e.type === 'message' ? e.text : e.type),
  };
  return { cache, events, resolver: new StepResolver(cache, progress) };
}

describe('StepResolver', () => {
  it('keys a step by its definition, inputs, content and parent; runs a miss and records it', async () => {
    const { cache, events, resolver } = setup();
    const runs: number[] = [];
    const { key, result } = await resolver.resolve(info('a'), addOp(2, runs), direct);
    expect(key).toBe(cacheKey({ definition: { add: 2 }, parent: 'base', inputs: [], content: [] }));
    expect([result, runs, [...cache.stored.values()], [resolver.ran, resolver.cached]]).toEqual([20, [2], [20], [1, 0]]);
    expect(events).toEqual(['a:started(not built before)', 'a:done']);
    expect(cache.remembered.get('Dockerfile#a')).toEqual({
      definition: cacheKey({ definition: { add: 2 } }),
      parent: 'base',
      inputs: [],
      content: [],
    });
  });

  it('takes a cached result without running, and explains the next miss', async () => {
    const { cache, events, resolver } = setup();
    const runs: number[] = [];
    await resolver.resolve(info('a'), addOp(2, runs), direct);
    const again = await new StepResolver(cache, { emit: () => undefined }).resolve(info('a'), addOp(2, runs), direct);
    expect([again.result, runs]).toEqual([20, [2]]);
    // The same place with another instruction: a miss, and why.
    const other = setup();
    other.cache.remembered.set('Dockerfile#a', { ...(cache.remembered.get('Dockerfile#a') as RememberedParts) });
    await other.resolver.resolve(info('a'), addOp(3, runs), direct);
    expect(other.events).toEqual(['a:started(the instruction changed)', 'a:done']);
    expect(events).toEqual(['a:started(not built before)', 'a:done']);
  });

  it('a different parent is a different key', async () => {
    const { resolver } = setup();
    const runs: number[] = [];
    const one = await resolver.resolve(info('a', { parentKey: 'p1' }), addOp(2, runs), direct);
    const two = await resolver.resolve(info('a', { parentKey: 'p2' }), addOp(2, runs), direct);
    expect([one.key === two.key, runs]).toEqual([false, [2, 2]]);
  });

  it('an identical step resolving at the same time (another stage) is awaited, not run twice', async () => {
    const { events, resolver } = setup();
    const runs: number[] = [];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const first = resolver.resolve(info('x'), addOp(5, runs, gate), direct);
    const second = resolver.resolve(info('y'), addOp(5, runs, gate), direct);
    open();
    expect((await Promise.all([first, second])).map((r) => r.result)).toEqual([50, 50]);
    expect([runs, resolver.ran, resolver.cached]).toEqual([[5], 1, 1]);
    expect(events).toEqual(['x:started(not built before)', 'x:done', 'y:cached']);
  });

  it('restores an imported result in a slot when the cache has none', async () => {
    const { cache, events, resolver } = setup();
    const runs: number[] = [];
    const key = cacheKey({ definition: { add: 7 }, parent: 'base', inputs: [], content: [] });
    const imported = new Map([[key, 777]]);
    const op = { ...addOp(7, runs), restorable: (k: Digest) => (imported.has(k) ? async () => imported.get(k) as number : undefined) };
    const slots: string[] = [];
    const slot = async <T>(task: () => Promise<T>): Promise<T> => {
      slots.push('slot');
      return task();
    };
    expect((await resolver.resolve(info('a'), op, slot)).result).toBe(777);
    expect([runs, slots, cache.stored.get(key), events]).toEqual([[], ['slot'], 777, ['a:cached']]);
  });

  it.each([
    {
      failure: new Unrestorable('layer sha256:ab is gone'),
      outcome: {
        result: 70,
        runs: [7],
        events: [
          'warning: cannot restore step a from the imported cache: layer sha256:ab is gone; the step runs',
          'a:started(not built before)',
          'a:done',
        ],
      },
    },
    { failure: new Error('disk full'), outcome: { error: 'disk full', runs: [], events: [] } },
  ])('a restore that fails with $failure.name: $failure.message', async ({ failure, outcome }) => {
    const { cache, events, resolver } = setup();
    const runs: number[] = [];
    const op = { ...addOp(7, runs), restorable: () => () => Promise.reject(failure) };
    const resolved = resolver.resolve(info('a'), op, direct).then(
      ({ result }) => ({ result }),
      (err: Error) => ({ error: err.message }),
    );
    // Unrestorable is a miss: a warning, then the step runs and its result is recorded; anything else fails the step.
    expect({ ...(await resolved), runs, events }).toEqual(outcome);
    expect([...cache.stored.values()]).toEqual('result' in outcome ? [outcome.result] : []);
  });

  it('--no-cache runs even a cached step, and never shares it', async () => {
    const { events, resolver } = setup();
    const runs: number[] = [];
    await resolver.resolve(info('a'), addOp(1, runs), direct);
    await Promise.all([
      resolver.resolve(info('a', { skipCache: true }), addOp(1, runs), direct),
      resolver.resolve(info('b', { skipCache: true }), addOp(1, runs), direct),
    ]);
    expect(runs).toEqual([1, 1, 1]);
    expect(events.filter((e) => e.includes('--no-cache'))).toEqual(['a:started(--no-cache)', 'b:started(--no-cache)']);
  });

  it('a failing op fails its step, records nothing, and fails the step awaiting it too', async () => {
    const { cache, resolver } = setup();
    const failing: StepOp<number> = {
      key: async () => ({ definition: 'boom', inputs: [], content: [] }),
      run: () => Promise.reject(new Error('boom')),
    };
    const results = await Promise.allSettled([resolver.resolve(info('a'), failing, direct), resolver.resolve(info('b'), failing, direct)]);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok'))).toEqual(['boom', 'boom']);
    expect([cache.stored.size, resolver.ran]).toEqual([0, 0]);
  });

  /** An op that hands its result on, then finishes when `finish` is opened (or fails with `failure`). */
  function handingOp(finish: Promise<void>, log: string[], failure?: Error): StepOp<number> {
    return {
      key: async () => ({ definition: 'early', inputs: [], content: [] }),
      run: async (_key, ready) => {
        ready(1);
        log.push('handed on');
        await finish;
        if (failure) throw failure;
        log.push('finished');
        return 1;
      },
    };
  }

  it.each([
    { failure: undefined, outcome: { settled: 'ok', stored: [1], ran: 1, events: ['a:started(not built before)', 'a:done'] } },
    // Failing after it handed its result on: no record, and the build learns of it from `settled`.
    {
      failure: new Error('layer: disk full'),
      outcome: { settled: 'layer: disk full', stored: [], ran: 0, events: ['a:started(not built before)', 'a:done'] },
    },
  ])('an op handing its result on early ($failure)', async ({ failure, outcome }) => {
    const { cache, events, resolver } = setup();
    const log: string[] = [];
    let open!: () => void;
    const finish = new Promise<void>((resolve) => (open = resolve));
    const slots: string[] = [];
    const slot = async <T>(task: () => Promise<T>): Promise<T> => {
      slots.push('taken');
      try {
        return await task();
      } finally {
        slots.push('released');
      }
    };
    // The result comes while the op still runs and holds its slot, before anything is recorded.
    const { result } = await resolver.resolve(info('a'), handingOp(finish, log, failure), slot);
    expect([result, log, slots, cache.stored.size]).toEqual([1, ['handed on'], ['taken'], 0]);
    // The same step elsewhere takes the handed-on result, without waiting or running.
    expect((await resolver.resolve(info('b'), handingOp(finish, log), slot)).result).toBe(1);
    const settled = resolver.settled().then(
      () => 'ok',
      (err: Error) => err.message,
    );
    open();
    expect({
      settled: await settled,
      stored: [...cache.stored.values()],
      ran: resolver.ran,
      events: events.filter((e) => e.startsWith('a:')),
    }).toEqual(outcome);
    expect(slots).toEqual(['taken', 'released']);
  });
});
