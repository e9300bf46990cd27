/**
 * The snapshotter conformance suite (containerd's `snapshots/testsuite`): what every snapshotter
 * must do, through the contract and its mounts only. Run by each implementation's test file.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory-store.js';
import { parseDigest } from '../../src/digest/digest.js';
import { MountDiffer } from '../../src/diff/differ.js';
import { mountsUnder, withMounted } from '../../src/runtime/mount.js';
import type { ManagedSnapshotter } from '../../src/snapshot/snapshotter.js';
import { tarEntries } from '../helpers/image-tree.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

export function snapshotterSuite(name: string, make: (root: string) => ManagedSnapshotter): void {
  const tempDir = useTempDirs('tsbuild-snapsuite-');

  /** Runs `fn` on a directory showing `mounts`. */
  const onMounts = <T>(mounts: Parameters<typeof withMounted>[0], fn: (dir: string) => T): Promise<T> => {
    const target = path.join(tempDir(), 'mnt');
    mkdirSync(target);
    return withMounted(mounts, target, async (dir) => fn(dir));
  };

  /** Commits `base`: etc/keep and etc/gone. */
  const commitBase = async (snaps: ManagedSnapshotter): Promise<void> => {
    await onMounts(await snaps.prepare('base-active'), (dir) => {
      mkdirSync(path.join(dir, 'etc'));
      writeFileSync(path.join(dir, 'etc', 'keep'), 'keep\n');
      writeFileSync(path.join(dir, 'etc', 'gone'), 'gone\n');
    });
    await snaps.commit('base', 'base-active');
  };

  describe.skipIf(!isRoot)(`Snapshotter conformance: ${name}`, () => {
    it('stacks committed snapshots: a child sees its parent, deletes and adds; a view is read-only', async () => {
      const snaps = make(tempDir());
      await commitBase(snaps);
      await onMounts(await snaps.prepare('work', 'base'), (dir) => {
        expect(readFileSync(path.join(dir, 'etc', 'keep'), 'utf8')).toBe('keep\n');
        rmSync(path.join(dir, 'etc', 'gone'));
        writeFileSync(path.join(dir, 'new'), 'new\n');
      });
      await snaps.commit('layer2', 'work');
      await onMounts(await snaps.view('look', 'layer2'), (dir) => {
        expect([readdirSync(dir).sort(), readdirSync(path.join(dir, 'etc'))]).toEqual([['etc', 'new'], ['keep']]);
        expect(() => writeFileSync(path.join(dir, 'x'), 'x')).toThrow(/EROFS|read-only/);
      });
      // The base is unchanged by its child.
      await onMounts(await snaps.view('look-base', 'base'), (dir) => expect(readdirSync(path.join(dir, 'etc')).sort()).toEqual(['gone', 'keep']));
      expect((await snaps.list()).map((s) => [s.key, s.kind, s.parent ?? '']).sort()).toEqual([
        ['base', 'committed', ''],
        ['layer2', 'committed', 'base'],
        ['look', 'view', 'layer2'],
        ['look-base', 'view', 'base'],
      ]);
      expect(await snaps.stat('layer2')).toMatchObject({ key: 'layer2', kind: 'committed', parent: 'base' });
      expect(await snaps.diskUsage()).toBeGreaterThan(0);
    });

    // A file step commits, lets the next step prepare on the snapshot, and writes its layer from
    // the mounts `prepare` gave meanwhile (`ops/file-op.ts`): the same layer as before the commit.
    it('the mounts prepare gave still read as the change after commit, with a child prepared on it', async () => {
      const snaps = make(tempDir());
      await commitBase(snaps);
      const mounts = await snaps.prepare('work', 'base');
      await onMounts(mounts, (dir) => {
        rmSync(path.join(dir, 'etc', 'gone'));
        writeFileSync(path.join(dir, 'new'), 'new\n');
      });
      const store = new MemoryContentStore();
      const differ = new MountDiffer(store, tempDir(), 'uncompressed');
      const before = await differ.diff(mounts, () => snaps.view('lower-1', 'base'));
      await snaps.commit('layer2', 'work');
      await onMounts(await snaps.prepare('child', 'layer2'), (dir) => writeFileSync(path.join(dir, 'child'), 'child\n'));
      const after = await differ.diff(mounts, () => snaps.view('lower-2', 'base'));
      expect(after).toEqual(before);
      const entries = await tarEntries(await store.readBytes(parseDigest(after.descriptor.digest)));
      expect(entries.map((e) => e.header.name).sort()).toEqual(['etc/', 'etc/.wh.gone', 'new']);
    });

    it('mounts(key) gives the mounts prepare gave', async () => {
      const snaps = make(tempDir());
      await snaps.commit('base', (await snaps.prepare('a'), 'a'));
      const prepared = await snaps.prepare('b', 'base');
      expect(await snaps.mounts('b')).toEqual(prepared);
    });

    it('refuses duplicate keys, unknown parents, active parents, committing a view and removing a parent', async () => {
      const snaps = make(tempDir());
      await snaps.prepare('a');
      await expect(snaps.prepare('a')).rejects.toThrow('snapshot a already exists');
      await expect(snaps.prepare('b', 'nope')).rejects.toThrow('snapshot nope not found');
      await expect(snaps.prepare('b', 'a')).rejects.toThrow('parent a is not committed');
      await snaps.commit('c', 'a');
      await snaps.view('v', 'c');
      await expect(snaps.commit('d', 'v')).rejects.toThrow('snapshot v is a view, only active snapshots can be committed');
      await expect(snaps.remove('c')).rejects.toThrow('cannot remove snapshot c: v is built on it');
      await expect(snaps.stat('nope')).rejects.toThrow('snapshot nope not found');
      await snaps.remove('v');
      await snaps.remove('c');
      expect([await snaps.list(), await snaps.diskUsage()]).toEqual([[], 0]);
    });

    it('removeStale removes the active snapshots and views of processes that are gone, and nothing else', async () => {
      const snaps = make(tempDir());
      await snaps.commit('base', (await snaps.prepare('seed'), 'seed'));
      await snaps.prepare('exec-2147483646.1-dead', 'base');
      await snaps.view('view-2147483646.1-dead', 'base');
      await snaps.prepare(`exec-${process.pid}-live`, 'base');
      expect((await snaps.removeStale()).sort()).toEqual(['exec-2147483646.1-dead', 'view-2147483646.1-dead']);
      expect((await snaps.list()).map((s) => s.key).sort()).toEqual(['base', `exec-${process.pid}-live`]);
      expect(await mountsUnder(tempDir())).toEqual([]);
    });

    it('removeOrphans takes nothing that a snapshot still uses, and every snapshot stays usable', async () => {
      const snaps = make(tempDir());
      await snaps.commit('base', (await snaps.prepare('seed'), 'seed'));
      await snaps.prepare('child', 'base');
      await snaps.view('look', 'base');
      const before = (await snaps.list()).map((s) => s.key).sort();
      expect(await snaps.removeOrphans()).toBe(0);
      expect((await snaps.list()).map((s) => s.key).sort()).toEqual(before);
      await snaps.commit('child-done', 'child');
      expect(await snaps.removeOrphans()).toBe(0);
      expect((await snaps.stat('child-done')).parent).toBe('base');
    });
  });
}
