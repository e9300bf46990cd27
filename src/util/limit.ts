/**
 * A concurrency limit for many small file-system tasks (stat, hash, copy): at most `width` run at
 * once, the rest wait their turn. p-queue does this for the solver and transfers; this is the
 * few-line version the file walkers use without the wrapper rule's detour.
 */

/** A function that runs tasks with at most `width` in flight. */
export type Limit = <T>(task: () => Promise<T>) => Promise<T>;

export function limit(width: number): Limit {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= width) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}
