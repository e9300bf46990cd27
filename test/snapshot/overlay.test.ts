import { lstatSync, mkdirSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mountsUnder, withMounted } from '../../src/runtime/mount.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-snap-');

describe.skipIf(!isRoot)('OverlaySnapshotter (real overlay mounts)', () => {
  it('stacks committed snapshots, records deletions as whiteouts, and cleans up', async () => {
    const root = tempDir();
    const snaps = new OverlaySnapshotter(root);
    const target = path.join(tempDir(), 'mnt');
    mkdirSync(target);

    const baseMounts = await snaps.prepare('base-active');
    expect(baseMounts).toEqual([{ type: 'bind', source: await snaps.upperDir('base-active'), options: ['rw', 'rbind'] }]);
    await withMounted(baseMounts, target, async (dir) => {
      // A lone read-write bind is used in place, not mounted.
      expect(dir).toBe(await snaps.upperDir('base-active'));
      mkdirSync(path.join(dir, 'etc'));
      writeFileSync(path.join(dir, 'etc', 'keep'), 'keep\n');
      writeFileSync(path.join(dir, 'etc', 'gone'), 'gone\n');
    });
    await snaps.commit('base', 'base-active');

    const mounts = await snaps.prepare('work', 'base');
    expect(mounts[0]?.type).toBe('overlay');
    expect(mounts[0]?.options[2]).toMatch(new RegExp(`^lowerdir=${path.join(root, 'snapshots', 'l')}/[A-Z2-7]{10}$`));
    await withMounted(mounts, target, async () => {
      expect(readFileSync(path.join(target, 'etc', 'keep'), 'utf8')).toBe('keep\n');
      rmSync(path.join(target, 'etc', 'gone'));
      writeFileSync(path.join(target, 'new'), 'new\n');
    });
    const upper = await snaps.upperDir('work');
    const whiteout = lstatSync(path.join(upper, 'etc', 'gone'));
    expect([whiteout.isCharacterDevice(), whiteout.rdev]).toEqual([true, 0]);
    expect(readdirSync(upper).sort()).toEqual(['etc', 'new']);
    expect(await snaps.lowerDirs('work')).toEqual([await snaps.upperDir('base')]);
    await snaps.commit('layer2', 'work');

    await withMounted(await snaps.view('look', 'layer2'), target, async () => {
      expect(readdirSync(path.join(target, 'etc'))).toEqual(['keep']);
      expect(() => writeFileSync(path.join(target, 'x'), 'x')).toThrow(/EROFS|read-only/);
    });
    expect(await mountsUnder(target)).toEqual([]);

    expect((await snaps.list()).map((s) => [s.key, s.kind, s.parent ?? ''])).toEqual([
      ['base', 'committed', ''],
      ['layer2', 'committed', 'base'],
      ['look', 'view', 'layer2'],
    ]);
    await expect(snaps.remove('base')).rejects.toThrow('cannot remove snapshot base: layer2 is built on it');
    await snaps.remove('look');
    await snaps.remove('layer2');
    await snaps.remove('base');
    expect(readdirSync(path.join(root, 'snapshots')).sort()).toEqual(['l', 'metadata.json']);
    expect(readdirSync(path.join(root, 'snapshots', 'l'))).toEqual([]);
  });
});
