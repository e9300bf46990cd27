import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ImageIndex, type ImageRecord } from '../../src/images/image-index.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-image-index-');
const record = (digest: string, updated: string, name = 'docker.io/library/app:1'): ImageRecord => ({
  name,
  target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 1 },
  manifest: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 1 },
  config: `sha256:${'c'.repeat(64)}`,
  platform: 'linux/amd64',
  size: 10,
  updated,
});

describe('ImageIndex', () => {
  it('writes a changed record, and leaves the file alone when only the update time differs', async () => {
    const root = tempDir();
    const index = new ImageIndex(root);
    const a = `sha256:${'a'.repeat(64)}`;
    await index.put(record(a, '2026-01-01T00:00:00.000Z'));
    const file = path.join(root, 'images.json');
    const first = statSync(file);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await index.put(record(a, '2026-06-01T00:00:00.000Z'));
    expect(statSync(file).ino).toBe(first.ino);
    expect((await index.get('docker.io/library/app:1'))?.updated).toBe('2026-01-01T00:00:00.000Z');
    const b = `sha256:${'b'.repeat(64)}`;
    await index.put(record(b, '2026-06-01T00:00:00.000Z'));
    expect(statSync(file).ino).not.toBe(first.ino);
    expect((await index.get('docker.io/library/app:1'))?.manifest.digest).toBe(b);
  });
});

describe('a damaged image index', () => {
  const hex = (c: string): string => `sha256:${c.repeat(64)}`;
  /** Three images (app:1 → a, app:2 → b, app:3 → d), all with config c. */
  async function three(): Promise<{ root: string; warnings: string[]; index: ImageIndex; text: string }> {
    const root = tempDir();
    const warnings: string[] = [];
    const index = new ImageIndex(root, (w) => warnings.push(w));
    for (const [n, c] of [
      ['1', 'a'],
      ['2', 'b'],
      ['3', 'd'],
    ] as const)
      await index.put(record(hex(c), '2026-01-01T00:00:00.000Z', `docker.io/library/app:${n}`));
    return { root, warnings, index, text: readFileSync(path.join(root, 'images.json'), 'utf8') };
  }
  const CONSEQUENCE = 'pull or build them again; prune keeps the blobs';

  it.each([
    {
      name: 'cut short inside app:2',
      damage: (text: string) => text.slice(0, text.indexOf('"platform"', text.indexOf('"docker.io/library/app:2": {'))),
      reason: /^Expected double-quoted property name in JSON at position \d+$/,
      kept: ['docker.io/library/app:1'],
      lost: ['docker.io/library/app:2'],
      mentioned: [hex('a'), hex('b'), hex('c')],
    },
    {
      name: 'a flipped byte in the size of app:3',
      damage: (text: string) => text.replace(/("docker.io\/library\/app:3": \{[^]*?"size": )10/, '$1"0"'),
      reason: /^record "docker.io\/library\/app:3" is not what tsbuild writes$/,
      kept: ['docker.io/library/app:1', 'docker.io/library/app:2'],
      lost: ['docker.io/library/app:3'],
      mentioned: [hex('a'), hex('b'), hex('c'), hex('d')],
    },
    {
      name: 'a flipped byte that breaks the JSON inside app:1',
      damage: (text: string) => text.replace('"platform": "linux/amd64",', '"platform": "linux/amd64";'),
      reason: /^Expected ',' or '}' after property value in JSON at position \d+$/,
      kept: ['docker.io/library/app:2', 'docker.io/library/app:3'],
      lost: ['docker.io/library/app:1'],
      mentioned: [hex('a'), hex('b'), hex('c'), hex('d')],
    },
    {
      name: 'zeros where the file was',
      damage: (text: string) => '\0'.repeat(text.length),
      reason: /^Unexpected token .* is not valid JSON$/,
      kept: [],
      lost: [],
      mentioned: [],
    },
  ])('$name: set aside, the rest kept, the lost named; their blobs stay for prune', async ({ damage, reason, kept, lost, mentioned }) => {
    const { root, warnings, index, text } = await three();
    writeFileSync(path.join(root, 'images.json'), damage(text));
    expect((await index.list()).map((r) => r.name)).toEqual(kept);
    expect(warnings).toHaveLength(1);
    const [, file, why, aside, count, rest] =
      /^the image index (\S+) is corrupt \((.*)\): set aside as (images\.json\.corrupt-[0-9TZ-]+); kept (\d+), (.*)$/.exec(warnings[0] ?? '') ?? [];
    expect([file, Number(count)]).toEqual([path.join(root, 'images.json'), kept.length]);
    expect(why).toMatch(reason);
    expect(rest).toBe(lost.length === 0 ? 'no record lost' : `lost ${lost.join(', ')}; ${CONSEQUENCE} ${aside} names until that file is removed`);
    expect(readFileSync(path.join(root, aside ?? ''), 'utf8')).toBe(damage(text));
    expect(await index.setAsideDigests()).toEqual(mentioned);
    // The index works on: a new name is added beside what was kept, with no second warning.
    await index.put(record(hex('e'), '2026-01-02T00:00:00.000Z', 'docker.io/library/new:1'));
    expect((await index.list()).map((r) => r.name)).toEqual([...kept, 'docker.io/library/new:1']);
    expect(warnings).toHaveLength(1);
    expect(readdirSync(root).filter((n) => n.startsWith('images.json')).length).toBe(2);
  });
});
