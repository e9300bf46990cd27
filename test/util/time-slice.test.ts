import { describe, expect, it } from 'vitest';
import { TimeSlicer } from '../../src/util/time-slice.js';

/** Busy-waits `ms` (the synchronous work a walker does between pauses). */
function work(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('TimeSlicer', () => {
  it('gives the event loop a turn only once a slice is used up', async () => {
    const slicer = new TimeSlicer(undefined, 20);
    let turns = 0;
    const tick = (): void => void setImmediate(() => turns++);
    tick();
    expect(slicer.due()).toBe(false);
    await slicer.pause(); // slice just started: no turn
    expect(turns).toBe(0);
    work(25);
    expect(slicer.due()).toBe(true);
    await slicer.pause(); // slice over: the pending immediate runs
    expect(slicer.due()).toBe(false);
    expect(turns).toBe(1);
    tick();
    await slicer.pause(); // a new slice began at the last turn
    expect(turns).toBe(1);
  });

  it('stops at the first turn after its signal is aborted', async () => {
    const controller = new AbortController();
    const slicer = new TimeSlicer(controller.signal, 1);
    controller.abort(new Error('interrupted'));
    work(2);
    await expect(slicer.pause()).rejects.toThrow('interrupted');
  });
});
