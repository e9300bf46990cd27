import { describe, expect, it } from 'vitest';
import { limit } from '../../src/util/limit.js';

describe('limit', () => {
  it('runs at most `width` tasks at once, all of them, and passes results and errors through', async () => {
    const run = limit(3);
    let active = 0;
    let most = 0;
    const task = (i: number) => async (): Promise<number> => {
      most = Math.max(most, ++active);
      await new Promise((resolve) => setTimeout(resolve, 5 + (i % 4)));
      active--;
      if (i === 7) throw new Error('seven');
      return i * 2;
    };
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => run(task(i))));
    expect(most).toBe(3);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([0, 2, 4, 6, 8, 10, 12, 'seven', 16, 18, 20, 22]);
  });
});
