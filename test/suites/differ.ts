/**
 * The differ and applier conformance suite (containerd's diff tests): a layer made from a
 * snapshot's changes, applied onto a fresh snapshot of the same parent, gives the same tree;
 * applying then diffing gives the layer's changes back; the layer in the store is what its
 * descriptor says; and nothing is left mounted or in scratch. It works through the `Differ` and
 * `Applier` contracts and a snapshotter's mounts only, so each pairing runs it: a differ and
 * applier over each snapshotter they serve (overlay: the upper-dir fast path; fuse-overlayfs: its
 * markers; copying: the two-tree walk).
 */
import { chmodSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ContentStore } from '../../src/content/store.js';
import type { Applier } from '../../src/diff/applier.js';
import type { Differ } from '../../src/diff/differ.js';
import type { LayerResult } from '../../src/diff/layer-writer.js';
import { digestOf, parseDigest } from '../../src/digest/digest.js';
import { MediaType } from '../../src/image/oci-types.js';
import { mountsUnder, withMounted } from '../../src/runtime/mount.js';
import type { Snapshotter } from '../../src/snapshot/snapshotter.js';
import { makeLayer } from '../helpers/oci-image.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';
import { treeListing } from '../helpers/umoci.js';

/** One pairing under test, all on the state root it was made for. */
export interface DifferSubject {
  snapshotter: Snapshotter;
  differ: Differ;
  applier: Applier;
  /** Where the differ writes its layers and the applier reads them. */
  store: ContentStore;
  /** The media type the differ's layers have (its compression). */
  layerMediaType: string;
}

export function differSuite(name: string, make: (root: string) => Promise<DifferSubject>): void {
  const tempDir = useTempDirs('tsbuild-diffsuite-');

  const onMounts = <T>(mounts: Parameters<typeof withMounted>[0], fn: (dir: string) => T): Promise<T> => {
    const target = path.join(tempDir(), 'mnt');
    mkdirSync(target);
    return withMounted(mounts, target, async (dir) => fn(dir));
  };

  /** The layer is stored as its descriptor says: media type, size, digest; uncompressed, its digest is its diffID. */
  async function expectStored(subject: DifferSubject, layer: LayerResult): Promise<void> {
    const bytes = await subject.store.readBytes(parseDigest(layer.descriptor.digest));
    expect([layer.descriptor.mediaType, layer.descriptor.size, digestOf(bytes)]).toEqual([
      subject.layerMediaType,
      bytes.length,
      layer.descriptor.digest,
    ]);
    if (subject.layerMediaType === MediaType.OciLayer) expect(layer.diffID).toBe(layer.descriptor.digest);
  }

  /** Nothing mounted below the root and no differ scratch left in its tmp/. */
  async function expectNothingLeft(root: string): Promise<void> {
    let scratch: string[] = [];
    try {
      scratch = readdirSync(path.join(root, 'tmp'));
    } catch {
      // No tmp/ at all: nothing was left there.
    }
    expect({ mounts: await mountsUnder(root), scratch }).toEqual({ mounts: [], scratch: [] });
  }

  describe.skipIf(!isRoot)(`Differ and Applier conformance: ${name}`, () => {
    it('a layer of a snapshot’s changes, applied onto the same parent, gives the same tree', async () => {
      const root = tempDir();
      const subject = await make(root);
      const { snapshotter: snaps, store, applier, differ } = subject;
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
      await expectStored(subject, layer);
      await expectNothingLeft(root);
    });

    it('a first layer (no parent) holds exactly the new tree', async () => {
      const root = tempDir();
      const subject = await make(root);
      const { snapshotter: snaps, applier, differ } = subject;
      const work = await snaps.prepare('first');
      await onMounts(work, (dir) => {
        mkdirSync(path.join(dir, 'bin'));
        writeFileSync(path.join(dir, 'bin', 'tool'), '#!/bin/sh\n', { mode: 0o755 });
      });
      const layer = await differ.diff(work, async () => []);
      const again = await snaps.prepare('again');
      expect(await applier.apply(layer.descriptor, again)).toBe(layer.diffID);
      expect(await onMounts(again, (dir) => treeListing(dir))).toEqual(await onMounts(work, (dir) => treeListing(dir)));
      await expectStored(subject, layer);
      await expectNothingLeft(root);
    });
  });
}
