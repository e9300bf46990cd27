/**
 * The build's side of the step resolver's cache (`solve/step-resolver.ts`): the persistent cache
 * index, whose records are usable only while their snapshot and layer blob exist. A record, its
 * snapshot and its blob are added to the build's lease before they are checked, so a concurrent
 * prune either sees them leased or has removed them already (then the step runs again). Records
 * the build writes are newer than its lease, which keeps them too. A record, once written, is
 * replaced only when it is no longer usable or the step ran to replace it (`--no-cache`).
 */
import { missReason, type CacheIndex, type CacheRecord } from '../cache/cache-index.js';
import type { ContentStore } from '../content/store.js';
import { digestHex, parseDigest, type Digest } from '../digest/digest.js';
import { isNotFound } from '../errors.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import type { RememberedParts, StepCache } from '../solve/step-resolver.js';
import type { Lease } from '../util/lease.js';
import { recordOf, type StepResult } from './step-ops.js';

export class BuildStepCache implements StepCache<StepResult> {
  constructor(
    private readonly index: CacheIndex,
    private readonly snapshotter: Snapshotter,
    private readonly store: ContentStore,
    private readonly lease: Lease,
  ) {}

  async get(key: Digest): Promise<StepResult | undefined> {
    const record = await this.usable(key);
    return record && { snapshot: record.snapshot, layer: Promise.resolve(record.layer), created: record.created };
  }

  private async usable(key: Digest): Promise<CacheRecord | undefined> {
    const record = await this.index.get(key);
    if (!record) return undefined;
    await this.lease.add({ records: [digestHex(key)], snapshots: [record.snapshot], blobs: [record.layer.descriptor.digest] });
    // A prune between the read and the lease may have dropped the record: then it is a miss (the
    // step runs and writes a new one), never a hit the index no longer names. (Another build may
    // have replaced it meanwhile: what this one leased is as good.)
    if (!(await this.index.get(key))) return undefined;
    return (await this.present(record)) ? record : undefined;
  }

  /**
   * The first build to record a step wins: another build may already have taken that record's
   * snapshot from the cache. This build's own snapshot then has no record and goes when the build
   * ends, as a pending one (`cache/unrecorded-steps.ts`). A record that is no longer usable, or any
   * record when the step ran to replace it (`--no-cache`), is replaced; the snapshot it named is
   * left for `prune` (the build that made it may still be running and use it).
   */
  async put(key: Digest, result: StepResult, options: { replace?: boolean } = {}): Promise<void> {
    const record = await recordOf(result);
    const existing = await this.index.get(key);
    if (existing === undefined && (await this.index.putIfAbsent(key, record))) return;
    // Written meanwhile, unless what was there could not be read (then it was set aside).
    const current = existing ?? (await this.index.get(key));
    if (current !== undefined && current.snapshot !== record.snapshot && !options.replace && (await this.present(current))) return;
    await this.index.put(key, record);
  }

  /** Whether a record's snapshot and layer blob are still there. */
  private async present(record: CacheRecord): Promise<boolean> {
    const snapshot = await this.snapshotter.stat(record.snapshot).then(
      () => true,
      (err: unknown) => (isNotFound(err) ? false : Promise.reject(err)),
    );
    return snapshot && (await this.store.info(parseDigest(record.layer.descriptor.digest))) !== undefined;
  }

  async missReason(location: string, parts: RememberedParts): Promise<string> {
    return missReason(await this.index.lastParts(location), parts);
  }

  remember(location: string, parts: RememberedParts): Promise<void> {
    return this.index.rememberParts(location, parts);
  }
}
