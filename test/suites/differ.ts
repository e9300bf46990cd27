/**
 * The differ and applier conformance suite: a layer made from a snapshot's changes, applied onto a
 * fresh snapshot of the same parent, gives the same tree; and applying then diffing gives the
 * layer's changes back. Runs against a snapshotter's mounts only, so each snapshotter (overlay: the
 * upper-dir fast path; copying: the two-tree walk) checks the differ and applier it pairs with.
 */
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LocalContentStore } from '../../src/content/local-store.js';
import { StoreApplier } from '../../src/diff/applier.js';
import { MountDiffer } from '../../src/diff/differ.js';
import { digestOf } from '../../src/digest/digest.js';
import { MediaType } from '../../src/image/oci-types.js';
import { withMounted } from '../../src/runtime/mount.js';
import type { Snapshotter } from '../../src/snapshot/snapshotter.js';
import { makeLayer } from '../helpers/oci-image.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';
import { treeListing } from '../helpers/umoci.js';

export function differSuite(name: string, make: (root: string) => Snapshotter): void {
  const tempDir = useTempDirs('tsbuild-diffsuite-');

  const onMounts = <T>(mounts: Parameters<typeof withMounted>[0], fn: (dir: string) => T): Promise<T> => {
    const target = path.join(tempDir(), 'mnt');
    mkdirSync(target);
    return withMounted(mounts, target, async (dir) => fn(dir));
  };

  describe.skipIf(!isRoot)(`Differ and Applier conformance: ${name}`, () => {
    it('a layer of a snapshot’s changes, applied onto the same parent, gives the same tree', async () => {
      const root = tempDir();
      const snaps = make(root);
      const store = new LocalContentStore(root);
      const applier = new StoreApplier(store);
      const differ = new MountDiffer(store, root);
      const base = await makeLayer([
        { name: 'etc/', type: 'directory' },
        { name: 'etc/keep', data: Buffer.from('keep\n') },
        { name: 'etc/gone', data: Buffer.from('gone\n') },
        { name: 'data/', type: 'directory' },
        { name: 'data/a', data: Buffer.from('a') },
        { name: 'link', type: 'symlink', linkname: 'etc/keep' },
      ]);
      const blob = await store.ingest(Readable.from([base.gz]), { digest: digestOf(base.gz) });
      const descriptor = { mediaType: MediaType.OciLayerGzip, digest: blob.digest, size: blob.size };
      const mounts = await snaps.prepare('base-active');
      expect(await applier.apply(descriptor, mounts)).toBe(base.diffId);
      await snaps.commit('base', 'base-active');

      // A RUN-like change: add, modify, delete, replace a directory, change a mode, retarget a link.
      const work = await snaps.prepare('work', 'base');
      await onMounts(work, (dir) => {
        writeFileSync(path.join(dir, 'new.txt'), 'new\n');
        writeFileSync(path.join(dir, 'etc', 'keep'), 'changed\n');
        rmSync(path.join(dir, 'etc', 'gone'));
        rmSync(path.join(dir, 'data'), { recursive: true });
        mkdirSync(path.join(dir, 'data'));
        writeFileSync(path.join(dir, 'data', 'b'), 'b');
        chmodSync(path.join(dir, 'etc'), 0o700);
        rmSync(path.join(dir, 'link'));
        symlinkSync('new.txt', path.join(dir, 'link'));
      });
      const expected = await onMounts(work, (dir) => treeListing(dir));
      const layer = await differ.diff(work, () => snaps.view('base-view', 'base'));
      await snaps.commit('changed', 'work');

      const replay = await snaps.prepare('replay', 'base');
      expect(await applier.apply(layer.descriptor, replay)).toBe(layer.diffID);
      expect(await onMounts(replay, (dir) => treeListing(dir))).toEqual(expected);
      // Diffing the replayed snapshot gives the same diffID again: the layer is reproducible.
      expect((await differ.diff(replay, () => snaps.view('base-view-2', 'base'))).diffID).toBe(layer.diffID);
    });

    it('a first layer (no parent) holds exactly the new tree', async () => {
      const root = tempDir();
      const snaps = make(root);
      const store = new LocalContentStore(root);
      const work = await snaps.prepare('first');
      await onMounts(work, (dir) => {
        mkdirSync(path.join(dir, 'bin'));
        writeFileSync(path.join(dir, 'bin', 'tool'), '#!/bin/sh\n', { mode: 0o755 });
      });
      const layer = await new MountDiffer(store, root).diff(work, async () => []);
      const again = await snaps.prepare('again');
      await new StoreApplier(store).apply(layer.descriptor, again);
      expect(await onMounts(again, (dir) => treeListing(dir))).toEqual(await onMounts(work, (dir) => treeListing(dir)));
    });
  });
}
