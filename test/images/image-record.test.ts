/**
 * Store records of multi-platform images: an index record lists every platform, pulled platforms
 * of one index merge into one record, and a platform is found in a record as containerd matches
 * it (`arm64` = `arm64/v8`, `arm` = `arm/v7`).
 */
import { describe, expect, it } from 'vitest';
import type { ImageRecord } from '../../src/images/image-index.js';
import { indexRecord, mergePulled, recordFor, recordPlatforms } from '../../src/images/image-record.js';
import { parsePlatform } from '../../src/image/platform.js';

const d = (n: number, mediaType = 'application/vnd.oci.image.manifest.v1+json') => ({ mediaType, digest: `sha256:${String(n).repeat(64)}`, size: n });
const INDEX = d(9, 'application/vnd.oci.image.index.v1+json');

function pulled(platform: string, n: number, target = INDEX): ImageRecord {
  return { name: 'docker.io/library/bb:1', target, manifest: d(n), config: `sha256:c${n}`, platform, size: n * 10, updated: 'now' };
}

describe('mergePulled', () => {
  it('lists both platforms of one index in the order pulled, one entry per platform', () => {
    const amd64 = pulled('linux/amd64', 1);
    const arm64 = mergePulled(amd64, pulled('linux/arm64', 2));
    expect(recordPlatforms(arm64).map((p) => [p.platform, p.manifest.digest])).toEqual([
      ['linux/amd64', d(1).digest],
      ['linux/arm64', d(2).digest],
    ]);
    expect(arm64.manifest).toEqual(d(2));
    const again = mergePulled(arm64, pulled('linux/amd64', 1));
    expect(recordPlatforms(again).map((p) => p.platform)).toEqual(['linux/amd64', 'linux/arm64']);
  });

  const replaced: Array<[string, ImageRecord | undefined, ImageRecord]> = [
    ['nothing stored', undefined, pulled('linux/arm64', 2)],
    ['another index (the tag moved)', pulled('linux/amd64', 1, d(8, 'application/vnd.oci.image.index.v1+json')), pulled('linux/arm64', 2)],
    ['a single-platform image', pulled('linux/amd64', 1, d(1)), pulled('linux/amd64', 3, d(3))],
  ];
  it.each(replaced)('replaces the record over %s', (_, current, next) => {
    expect(mergePulled(current, next)).toBe(next);
  });
});

describe('recordFor', () => {
  const record = mergePulled(mergePulled(pulled('linux/amd64', 1), pulled('linux/arm/v7', 2)), pulled('linux/arm64', 3));
  const cases: Array<[string, string | undefined]> = [
    ['linux/amd64', d(1).digest],
    ['linux/arm64', d(3).digest],
    ['linux/arm64/v8', d(3).digest],
    ['linux/arm', d(2).digest],
    ['linux/arm/v7', d(2).digest],
    ['linux/arm/v6', undefined],
    ['linux/s390x', undefined],
  ];
  it.each(cases)('%s → %s', (platform, digest) => {
    expect(recordFor(record, platform)?.manifest.digest).toBe(digest);
  });
});

describe('indexRecord', () => {
  const image = (arch: string, n: number) => ({
    descriptor: d(n),
    manifest: { schemaVersion: 2 as const, config: { mediaType: 'c', digest: `sha256:c${n}`, size: 1 }, layers: [d(n), d(n + 1)] },
    config: { os: 'linux', architecture: arch, config: {}, rootfs: { type: 'layers' as const, diff_ids: [] }, created: '2024-01-01T00:00:00Z' },
  });
  it('names the index, lists every platform, and takes the preferred platform as its own', () => {
    const record = indexRecord('x:1', INDEX, [image('arm64', 1), image('amd64', 3)], parsePlatform('linux/amd64'));
    expect({ ...record, updated: '' }).toEqual({
      name: 'x:1',
      target: INDEX,
      manifest: d(3),
      config: 'sha256:c3',
      created: '2024-01-01T00:00:00Z',
      platform: 'linux/amd64',
      size: 7,
      updated: '',
      platforms: [
        { platform: 'linux/arm64', manifest: d(1), config: 'sha256:c1', size: 3 },
        { platform: 'linux/amd64', manifest: d(3), config: 'sha256:c3', size: 7 },
      ],
    });
    expect(indexRecord('x:1', INDEX, [image('arm64', 1), image('s390x', 3)], parsePlatform('linux/amd64')).platform).toBe('linux/arm64');
  });
});
