/**
 * A local build cache (`--cache-to/--cache-from type=local`) whose `cache.json` is damaged: set aside
 * with one warning, an import goes without it, and the next export writes a good one.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { exportCache, loadCache, type ExportedStep } from '../../src/cache/local-export.js';
import { MemoryContentStore } from '../../src/content/memory-store.js';
import { digestOf } from '../../src/digest/digest.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-local-cache-');
const LAYER = Buffer.from('a layer');
const STEP: ExportedStep = {
  layer: {
    descriptor: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(LAYER), size: LAYER.length },
    diffID: digestOf('tar'),
  },
  created: '2026-01-01T00:00:00.000Z',
};
const KEY = digestOf('a step');

describe('local cache index', () => {
  it.each([
    { name: 'cut short', text: '{"version":1,"steps":{', reason: /^Expected .*JSON/ },
    {
      name: 'a step without its layer',
      text: JSON.stringify({ version: 1, steps: { [KEY]: { created: 'now' } } }),
      reason: /^not what tsbuild writes there$/,
    },
    { name: 'another version', text: JSON.stringify({ version: 2, steps: {} }), reason: /^not what tsbuild writes there$/ },
  ])('$name: no steps and one warning, set aside; the next export writes a good index', async ({ text, reason }) => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'cache.json'), text);
    const warnings: string[] = [];
    expect(await loadCache(dir, (w) => warnings.push(w))).toEqual(new Map());
    expect(warnings).toHaveLength(1);
    const [, cause, aside] =
      /^the build cache index \S+ is corrupt \((.*)\): set aside as (cache\.json\.corrupt-\S+); its steps are not used$/.exec(warnings[0] ?? '') ??
      [];
    expect(cause).toMatch(reason);
    expect(readFileSync(path.join(dir, aside ?? ''), 'utf8')).toBe(text);

    const store = new MemoryContentStore();
    await store.ingest(Readable.from([LAYER]), { digest: digestOf(LAYER) });
    await exportCache(dir, new Map([[KEY, STEP]]), store, (w) => warnings.push(w));
    expect(await loadCache(dir)).toEqual(new Map([[KEY, STEP]]));
    expect(warnings).toHaveLength(1);
    expect(readdirSync(dir).sort()).toEqual(['blobs', 'cache.json', aside]);
  });
});
