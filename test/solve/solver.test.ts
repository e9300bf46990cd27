import { describe, expect, it } from 'vitest';
import { solve } from '../../src/solve/solver.js';

/** Arithmetic fake ops (BuildKit's vtxSum style): each vertex is its value plus its deps' results. */
const values: Record<string, number> = { a: 1, b: 2, c: 3, d: 4 };
const graph = [
  { id: 'a', deps: [] },
  { id: 'b', deps: ['a'] },
  { id: 'c', deps: ['a'] },
  { id: 'd', deps: ['b', 'c'] },
];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('solve', () => {
  it("gives each vertex its dependencies' results, running each vertex once", async () => {
    const calls: string[] = [];
    const results = await solve<number>(graph, async (id, { need }) => {
      calls.push(id);
      const deps = graph.find((v) => v.id === id)?.deps ?? [];
      let sum = values[id] ?? 0;
      for (const d of deps) sum += await need(d);
      return sum;
    });
    expect(Object.fromEntries(results)).toEqual({ a: 1, b: 3, c: 4, d: 11 });
    expect(calls.sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('bounds the work run through slot, not the waiting: a vertex waiting on need holds no slot', async () => {
    const order: string[] = [];
    // One slot. "final" starts first, does some work, then waits for "slow"; "slow" must still run.
    const results = await solve<string>(
      [
        { id: 'final', deps: ['slow'] },
        { id: 'slow', deps: [] },
      ],
      async (id, { need, slot }) => {
        if (id === 'slow') return slot(async () => (await sleep(20), order.push('slow'), 'S'));
        await slot(async () => order.push('final: before'));
        const slow = await need('slow');
        return slot(async () => (order.push('final: after'), `F+${slow}`));
      },
      { concurrency: 1 },
    );
    expect(order).toEqual(['final: before', 'slow', 'final: after']);
    expect(results.get('final')).toBe('F+S');
  });

  it('runs slot work concurrently, within the bound', async () => {
    let running = 0;
    let peak = 0;
    const wide = Array.from({ length: 6 }, (_, i) => ({ id: `v${i}`, deps: [] }));
    await solve(
      wide,
      async (_id, { slot }) =>
        slot(async () => {
          peak = Math.max(peak, ++running);
          await sleep(30);
          running--;
          return 0;
        }),
      { concurrency: 3 },
    );
    expect(peak).toBe(3);
  });

  it('refuses a cycle before running anything, and a need that was not declared', async () => {
    let ran = 0;
    await expect(
      solve(
        [
          { id: 'x', deps: ['y'] },
          { id: 'y', deps: ['x'] },
        ],
        async () => ran++,
      ),
    ).rejects.toThrow('dependency cycle: x -> y -> x');
    expect(ran).toBe(0);
    await expect(
      solve(
        [
          { id: 'x', deps: [] },
          { id: 'y', deps: [] },
        ],
        async (id, { need }) => (id === 'x' ? need('y') : 1),
      ),
    ).rejects.toThrow('vertex x needs y, which it does not depend on');
  });

  it('stops on the first failure, aborts running work, starts no waiting work, and reports that failure', async () => {
    const aborted: string[] = [];
    const started: string[] = [];
    const run = solve(
      [
        { id: 'slow', deps: [] },
        { id: 'bad', deps: [] },
        { id: 'queued', deps: [] },
        { id: 'after', deps: ['bad'] },
      ],
      async (id, { need, slot, signal }) => {
        if (id === 'after') await need('bad');
        if (id === 'queued') await sleep(10);
        return slot(async () => {
          started.push(id);
          if (id === 'bad') throw new Error('step failed');
          await new Promise((resolve) => {
            const timer = setTimeout(resolve, 5000);
            signal.addEventListener('abort', () => {
              clearTimeout(timer);
              aborted.push(id);
              resolve(undefined);
            });
          });
          return 0;
        });
      },
      { concurrency: 2 },
    );
    await expect(run).rejects.toThrow('step failed');
    expect(aborted).toEqual(['slow']);
    expect(started.sort()).toEqual(['bad', 'slow']);
  });
});
