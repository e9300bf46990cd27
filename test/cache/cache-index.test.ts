/**
 * Cache records that cannot be read are a miss, never a crash: set aside as
 * `<file>.corrupt-<time>` with one warning, skipped by `entries` (prune), and a fresh record written
 * in their place works.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CacheIndex, type CacheRecord, type KeyPartsRecord } from '../../src/cache/cache-index.js';
import { digestHex, digestOf } from '../../src/digest/digest.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-cache-index-');
const KEY = digestOf('a step');
const RECORD: CacheRecord = {
  snapshot: 'step-0123',
  layer: { descriptor: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf('layer'), size: 10 }, diffID: digestOf('tar') },
  created: '2026-01-01T00:00:00.000Z',
};
const PARTS: KeyPartsRecord = { definition: 'd', parent: 'p', inputs: [], content: ['c'] };

describe('CacheIndex with damaged records', () => {
  it.each([
    { name: 'cut short', text: JSON.stringify(RECORD).slice(0, 40), reason: /^Unterminated string in JSON at position 40$/ },
    { name: 'emptied', text: '', reason: /^Unexpected end of JSON input$/ },
    { name: 'without its layer', text: JSON.stringify({ ...RECORD, layer: undefined }), reason: /^not what tsbuild writes there$/ },
    {
      name: 'a layer digest that is no digest',
      text: JSON.stringify({ ...RECORD, layer: { ...RECORD.layer, descriptor: { ...RECORD.layer.descriptor, digest: '../../x' } } }),
      reason: /^not what tsbuild writes there$/,
    },
    { name: 'a JSON string', text: '"step"', reason: /^not what tsbuild writes there$/ },
  ])('a record $name: a miss with one warning, set aside; prune skips it; a new record works', async ({ text, reason }) => {
    const root = tempDir();
    const warnings: string[] = [];
    const cache = new CacheIndex(root, (w) => warnings.push(w));
    await cache.put(KEY, RECORD);
    const file = path.join(root, 'cache-index', `${digestHex(KEY)}.json`);
    writeFileSync(file, text);
    expect(await cache.get(KEY)).toBeUndefined();
    const [, shown, why, aside] = /^cache record (\S+) is corrupt \((.*)\): set aside as (\S+); the step runs again$/.exec(warnings[0] ?? '') ?? [];
    expect([warnings.length, shown]).toEqual([1, file]);
    expect(why).toMatch(reason);
    expect(aside).toMatch(new RegExp(`^${digestHex(KEY)}\\.json\\.corrupt-\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d-\\d{3}Z$`));
    expect(readFileSync(path.join(root, 'cache-index', aside ?? ''), 'utf8')).toBe(text);
    expect(await cache.entries()).toEqual([]);
    await cache.put(KEY, RECORD);
    expect(await cache.get(KEY)).toEqual(RECORD);
    expect(warnings).toHaveLength(1);
  });

  it('a damaged record found by prune (entries) is set aside, the good ones listed', async () => {
    const root = tempDir();
    const warnings: string[] = [];
    const cache = new CacheIndex(root, (w) => warnings.push(w));
    const other = digestOf('another step');
    await cache.put(KEY, RECORD);
    await cache.put(other, RECORD);
    writeFileSync(path.join(root, 'cache-index', `${digestHex(other)}.json`), '{"snapshot":');
    expect((await cache.entries()).map((e) => path.basename(e.file))).toEqual([`${digestHex(KEY)}.json`]);
    expect(warnings).toEqual([
      expect.stringMatching(/^cache record .* is corrupt \(Unexpected end of JSON input\): set aside as .*; the step runs again$/),
    ]);
    expect(readdirSync(path.join(root, 'cache-index')).filter((n) => n.includes('.corrupt-'))).toHaveLength(1);
  });

  it('a damaged cache-miss record: the reason is unknown, nothing fails', async () => {
    const root = tempDir();
    const warnings: string[] = [];
    const cache = new CacheIndex(root, (w) => warnings.push(w));
    await cache.rememberParts('Dockerfile#0#1', PARTS);
    const [name] = readdirSync(path.join(root, 'cache-index', 'steps'));
    writeFileSync(path.join(root, 'cache-index', 'steps', name ?? ''), '{"definition": 1}');
    expect(await cache.lastParts('Dockerfile#0#1')).toBeUndefined();
    expect(warnings).toEqual([
      expect.stringMatching(
        /^cache-miss record .* is corrupt \(not what tsbuild writes there\): set aside as .*; the reason for this miss is unknown$/,
      ),
    ]);
  });
});
