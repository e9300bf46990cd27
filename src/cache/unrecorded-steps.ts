/**
 * Step snapshots that no cache record names. A step commits its snapshot before it writes its
 * layer, and its cache record is written only after (`builder/step-ops.ts`): a build that fails in
 * between (its layer cannot be written, Ctrl-C, another step failed) leaves the snapshot unnamed.
 * The build removes those itself once its steps have settled; the next command removes a killed
 * build's, which its lease names (`util/lease.ts`, `state/reclaim-root.ts`). Without this, only a
 * `prune` would.
 */
import { isDigest, parseDigest } from '../digest/digest.js';
import { isNotFound } from '../errors.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import { liveLeases, withGcLock, type PendingStep } from '../util/lease.js';
import type { CacheIndex } from './cache-index.js';

/**
 * Removes the snapshots of `pending` that their step's cache record does not name, children before
 * parents. Kept: one a live lease holds (another build took it from a record that named it then),
 * and one something else is built on (a later step's recorded snapshot: `prune` removes it with
 * that record). Returns how many went.
 */
export async function removeUnrecordedSteps(
  root: string,
  snapshotter: Snapshotter,
  cache: CacheIndex,
  pending: readonly PendingStep[],
): Promise<number> {
  const unrecorded: string[] = [];
  for (const step of pending) {
    // Only step snapshots: a damaged lease must not name a base image's layers.
    if (!step.snapshot.startsWith('step-')) continue;
    const record = isDigest(step.key) ? await cache.get(parseDigest(step.key)) : undefined;
    if (record?.snapshot !== step.snapshot) unrecorded.push(step.snapshot);
  }
  if (unrecorded.length === 0) return 0;
  // Under the GC lock, as a prune: a build that leases a snapshot does so under it.
  return withGcLock(root, async () => {
    const leased = (await liveLeases(root, { keepDead: true })).snapshots;
    let left = unrecorded.filter((name) => !leased.has(name));
    let removed = 0;
    // A snapshot another is built on is refused; it is tried again once that one has gone.
    for (let progress = true; progress && left.length > 0;) {
      progress = false;
      const refused: string[] = [];
      for (const name of left) {
        const outcome = await snapshotter.remove(name).then(
          () => 'removed',
          (err: unknown) => (isNotFound(err) ? 'absent' : 'refused'),
        );
        if (outcome === 'refused') refused.push(name);
        else progress = true;
        if (outcome === 'removed') removed++;
      }
      left = refused;
    }
    return removed;
  });
}
