/**
 * The build's side of the step resolver's cache (`solve/step-resolver.ts`): the persistent cache
 * index, whose records are usable only while their snapshot and layer blob exist. A record's
 * snapshot and blob are added to the build's lease before they are checked, so a concurrent prune
 * either sees them leased or has removed them already (then the step runs again).
 */
import { missReason, type CacheIndex, type CacheRecord } from '../cache/cache-index.js';
import type { ContentStore } from '../content/store.js';
import { parseDigest, type Digest } from '../digest/digest.js';
import { isNotFound } from '../errors.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import type { RememberedParts, StepCache } from '../solve/step-resolver.js';
import type { Lease } from '../util/lease.js';

export class BuildStepCache implements StepCache<CacheRecord> {
  constructor(
    private readonly index: CacheIndex,
    private readonly snapshotter: Snapshotter,
    private readonly store: ContentStore,
    private readonly lease: Lease,
  ) {}

  async get(key: Digest): Promise<CacheRecord | undefined> {
    const record = await this.index.get(key);
    if (!record) return undefined;
    await this.lease.add({ snapshots: [record.snapshot], blobs: [record.layer.descriptor.digest] });
    const snapshot = await this.snapshotter.stat(record.snapshot).then(
      () => true,
      (err: unknown) => (isNotFound(err) ? false : Promise.reject(err)),
    );
    const blob = await this.store.info(parseDigest(record.layer.descriptor.digest));
    return snapshot && blob ? record : undefined;
  }

  put(key: Digest, record: CacheRecord): Promise<void> {
    return this.index.put(key, record);
  }

  async missReason(location: string, parts: RememberedParts): Promise<string> {
    return missReason(await this.index.lastParts(location), parts);
  }

  remember(location: string, parts: RememberedParts): Promise<void> {
    return this.index.rememberParts(location, parts);
  }
}
