/**
 * The build's step cache (`builder/step-cache.ts`) over a real cache index, snapshotter and content
 * store: the first build to record a step wins, so a record another build may already have taken
 * from the cache never changes under it; a record that is no longer usable, or any record when
 * the step ran to replace it (`--no-cache`), is replaced. Two builds recording at once: one wins.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CacheIndex } from '../../src/cache/cache-index.js';
import { LocalContentStore } from '../../src/content/local-store.js';
import { digestOf, parseDigest } from '../../src/digest/digest.js';
import { BuildStepCache } from '../../src/builder/step-cache.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { Lease } from '../../src/util/lease.js';
import { ownerTag } from '../../src/util/owner.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-step-cache-');
const KEY = parseDigest(`sha256:${'1'.repeat(64)}`);

describe('BuildStepCache.put', () => {
  it.each([
    { case: 'no record yet: written', before: undefined, replace: false, after: 'step-mine' },
    { case: 'a usable record of another build: it stands', before: 'step-theirs', replace: false, after: 'step-theirs' },
    { case: 'a usable record, the step ran to replace it: replaced', before: 'step-theirs', replace: true, after: 'step-mine' },
    { case: 'a record whose snapshot is gone: replaced', before: 'step-gone', replace: false, after: 'step-mine' },
  ])('$case', async ({ before, replace, after }) => {
    const root = tempDir();
    const index = new CacheIndex(root);
    const snapshots = new OverlaySnapshotter(root);
    const store = new LocalContentStore(root);
    const lease = await Lease.take(root);
    const bytes = Buffer.from('a layer');
    const blob = digestOf(bytes);
    await store.ingest(Readable.from([bytes]), { digest: blob, size: bytes.length });
    const result = (snapshot: string) => ({
      snapshot,
      layer: { descriptor: { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: blob, size: bytes.length }, diffID: blob },
      created: '2026-01-01T00:00:00Z',
    });
    for (const name of ['step-mine', 'step-theirs']) {
      await snapshots.prepare(`exec-${ownerTag()}-${name}`);
      await snapshots.commit(name, `exec-${ownerTag()}-${name}`);
    }
    if (before) await index.put(KEY, result(before));
    const cache = new BuildStepCache(index, snapshots, store, lease);
    const mine = result('step-mine');
    await cache.put(KEY, { ...mine, layer: Promise.resolve(mine.layer) }, { replace });
    expect((await index.get(KEY))?.snapshot).toBe(after);
    await lease.close();
  });

  it('two builds recording the same step at once: one record is written, and it stays', async () => {
    const root = tempDir();
    const index = new CacheIndex(root);
    const record = (snapshot: string) => ({
      snapshot,
      layer: { descriptor: { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: KEY, size: 1 }, diffID: KEY },
      created: '2026-01-01T00:00:00Z',
    });
    const names = Array.from({ length: 8 }, (_, i) => `step-${i}`);
    const written = await Promise.all(names.map((name) => index.putIfAbsent(KEY, record(name))));
    expect(written.filter(Boolean)).toHaveLength(1);
    expect((await index.get(KEY))?.snapshot).toBe(names[written.indexOf(true)]);
    expect(readdirSync(path.join(root, 'cache-index'))).toEqual([`${'1'.repeat(64)}.json`]);
  });
});
