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

describe('solve', () => {
  it('runs in dependency order, each vertex once', async () => {
    const calls: string[] = [];
    const results = await solve<number>(graph, async (id, deps) => {
      calls.push(id);
      return (values[id] ?? 0) + [...deps.values()].reduce((s, v) => s + v, 0);
    });
    expect(Object.fromEntries(results)).toEqual({ a: 1, b: 3, c: 4, d: 11 });
    expect(calls[0]).toBe('a');
    expect(calls.at(-1)).toBe('d');
    expect(calls.sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('runs independent vertices concurrently, within the bound', async () => {
    let running = 0;
    let peak = 0;
    const wide = Array.from({ length: 6 }, (_, i) => ({ id: `v${i}`, deps: [] }));
    await solve(wide, async () => {
      peak = Math.max(peak, ++running);
      await new Promise((resolve) => setTimeout(resolve, 30));
      running--;
      return 0;
    }, { concurrency: 3 });
    expect(peak).toBe(3);
  });

  it('stops on the first failure, aborts running vertices, and reports that failure', async () => {
    const aborted: string[] = [];
    const run = solve([{ id: 'slow', deps: [] }, { id: 'bad', deps: [] }, { id: 'after', deps: ['bad'] }], async (id, _deps, signal) => {
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
    await expect(run).rejects.toThrow('step failed');
    expect(aborted).toEqual(['slow']);
  });
});
