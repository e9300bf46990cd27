/**
 * Many small file-system calls, made synchronously in time slices. An asynchronous `lstat` or
 * `readFile` is a round trip through libuv's thread pool; for the hundreds of small files of a
 * COPY that round trip costs more than the call itself (on a 2-core VM, about 10x). Walkers make
 * their small calls directly and pause here between entries: once a slice is used up they give
 * the event loop a turn (timers, progress, other stages' I/O), and an aborted signal stops them.
 * Large files still go through streams, so no slice holds a big read.
 *
 * A slice is 2 ms: every asynchronous hop of another step (a cache lookup, a snapshot prepared, a
 * container started) waits up to a slice while a layer is written. With 8 ms slices a RUN started
 * 40-50 ms after the COPY before it had committed; with 2 ms, 20-25 ms (`docs/performance.md`).
 */

/** Files up to this size are read, written and copied with one synchronous call. */
export const SMALL_FILE = 256 * 1024;

export class TimeSlicer {
  private sliceStart = performance.now();

  constructor(
    private readonly signal?: AbortSignal,
    private readonly sliceMs = 2,
  ) {}

  /** Whether the slice is over: `pause()` would yield (callers skip its promise otherwise). */
  due(): boolean {
    return performance.now() - this.sliceStart >= this.sliceMs;
  }

  /** Between two entries: yields to the event loop when the slice is over; throws when aborted. */
  async pause(): Promise<void> {
    if (performance.now() - this.sliceStart < this.sliceMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.signal?.throwIfAborted();
    this.sliceStart = performance.now();
  }
}
