import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LocalContentStore } from '../../src/content/local-store.js';
import { applyLayer } from '../../src/diff/applier.js';
import { MountDiffer } from '../../src/diff/differ.js';
import { writeLayer } from '../../src/diff/layer-writer.js';
import type { Change } from '../../src/diff/changes.js';
import { upperdirChanges } from '../../src/diff/overlay-changes.js';
import { doubleWalkChanges } from '../../src/diff/walk-changes.js';
import type { Digest } from '../../src/digest/digest.js';
import { withMounted } from '../../src/runtime/mount.js';
import { CopyingSnapshotter } from '../../src/snapshot/copying.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { makeLayer } from '../helpers/oci-image.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';
import { layerEntries } from '../helpers/layers.js';
import { treeListing, umociUnpack } from '../helpers/umoci.js';

const tempDir = useTempDirs('tsbuild-differ-');

describe.skipIf(!isRoot)('overlay differ', () => {
  it('turns a RUN-like change into exactly the expected layer, which umoci applies to the same tree', async () => {
    const root = tempDir();
    const store = new LocalContentStore(root);
    const snaps = new OverlaySnapshotter(root);
    const base = await makeLayer([
      { name: 'bin/', type: 'directory' },
      { name: 'bin/busybox', data: readFileSync('/bin/busybox'), mode: 0o755 },
      { name: 'bin/cat', type: 'symlink', linkname: 'busybox' },
      { name: 'data/', type: 'directory' },
      { name: 'data/a', data: Buffer.from('a') },
      { name: 'data/b', data: Buffer.from('b') },
      { name: 'etc/', type: 'directory' },
      { name: 'etc/group', data: Buffer.from('root:x:0:\n') },
      { name: 'etc/passwd', data: Buffer.from('root:x:0:0:root:/root:/bin/sh\n') },
      { name: 'tmp/', type: 'directory', mode: 0o1777 },
    ]);
    await snaps.prepare('base-extract');
    await applyLayer(Readable.from([base.gz]), await snaps.upperDir('base-extract'), { mode: 'overlay' });
    await snaps.commit('base', 'base-extract');
    const baseDigest = (
      await store.ingest(Readable.from([base.gz]), {
        digest: `sha256:${(await import('node:crypto')).createHash('sha256').update(base.gz).digest('hex')}` as Digest,
      })
    ).digest;

    const mnt = path.join(tempDir(), 'rootfs');
    mkdirSync(mnt);
    const mounts = await snaps.prepare('run', 'base');
    await withMounted(mounts, mnt, async () => {
      writeFileSync(path.join(mnt, 'tmp', 'new.txt'), 'new\n');
      appendFileSync(path.join(mnt, 'etc', 'passwd'), 'app:x:1000:1000::/home/app:/bin/sh\n');
      rmSync(path.join(mnt, 'bin', 'cat'));
      rmSync(path.join(mnt, 'data'), { recursive: true });
      mkdirSync(path.join(mnt, 'data'));
      writeFileSync(path.join(mnt, 'data', 'c'), 'c');
      execFileSync('chown', ['0:0', path.join(mnt, 'etc', 'group')]); // copy-up that changes nothing
      writeFileSync(path.join(mnt, 'h1'), 'linked');
      linkSync(path.join(mnt, 'h1'), path.join(mnt, 'h2'));
    });
    const upper = await snaps.upperDir('run');
    const changes = withoutStats(await upperdirChanges({ upper, lowers: await snaps.lowerDirs('run') }));
    // bin and tmp changed their times (an entry removed, one added): changes of their own, as in BuildKit.
    expect(changes).toEqual([
      { kind: 'modify', path: 'bin' },
      { kind: 'delete', path: 'bin/cat' },
      { kind: 'modify', path: 'data', opaque: true },
      { kind: 'add', path: 'data/c' },
      { kind: 'modify', path: 'etc/passwd' },
      { kind: 'add', path: 'h1' },
      { kind: 'add', path: 'h2' },
      { kind: 'modify', path: 'tmp' },
      { kind: 'add', path: 'tmp/new.txt' },
    ]);

    const layer = await writeLayer(changes, upper, store, { sourceDateEpoch: 1_700_000_000 });
    expect(await layerEntries(store, layer.descriptor.digest)).toEqual([
      'directory bin/',
      'file bin/.wh.cat',
      'directory data/',
      'file data/.wh..wh..opq',
      'file data/c',
      'directory etc/',
      'file etc/passwd',
      'file h1',
      'link h2 -> h1',
      'directory tmp/',
      'file tmp/new.txt',
    ]);
    const again = await writeLayer(changes, upper, store, { sourceDateEpoch: 1_700_000_000 });
    expect(again.descriptor.digest).toBe(layer.descriptor.digest);

    // The independent oracle: umoci unpacks base + layer; the result must equal the overlay's merged view.
    await snaps.commit('after', 'run');
    const merged = path.join(tempDir(), 'merged');
    mkdirSync(merged);
    // The merged view still has the proc stub the layer (rightly) leaves out.
    const expected = (await withMounted(await snaps.view('check', 'after'), merged, async () => treeListing(merged))).filter(
      (l) => !l.startsWith('proc '),
    );
    const baseFile = path.join(tempDir(), 'base.tgz');
    writeFileSync(baseFile, base.gz);
    const rootfs = umociUnpack(tempDir(), [
      { file: baseFile, digest: baseDigest, size: base.gz.length, diffID: base.diffId },
      { file: store.blobPath(layer.descriptor.digest as Digest), digest: layer.descriptor.digest, size: layer.descriptor.size, diffID: layer.diffID },
    ]);
    expect(treeListing(rootfs)).toEqual(expected);

    // And the walking differ, diffing the trees directly, agrees on what the layer must do.
    const lowerTree = tempDir();
    await applyLayer(Readable.from([base.gz]), lowerTree, { mode: 'plain' });
    const walked = await doubleWalkChanges(lowerTree, rootfs);
    expect(walked.map((c) => `${c.kind} ${c.path}`)).toEqual([
      'modify bin',
      'delete bin/cat',
      'modify data',
      'delete data/a',
      'delete data/b',
      'add data/c',
      'modify etc/passwd',
      'add h1',
      'add h2',
      'modify tmp',
      'add tmp/new.txt',
    ]);
  });
});

describe.skipIf(!isRoot)('overlay differ: a lower path whose parent changed type', () => {
  it('file→dir, symlink→dir and dir→file: adds and deletes, no ENOTDIR, nothing read through a lower symlink', async () => {
    const root = tempDir();
    const snaps = new OverlaySnapshotter(root);
    // The host canary: a directory outside the layers that a lower symlink points at. If the lookup
    // followed the symlink, `hostlink/same` would compare equal to it and be dropped as a no-op copy-up.
    const canary = path.join(tempDir(), 'host');
    mkdirSync(canary);
    writeFileSync(path.join(canary, 'same'), 'same');
    const base = await makeLayer([
      { name: 'f', data: Buffer.from('file') },
      { name: 'hostlink', type: 'symlink', linkname: canary },
      { name: 'd/', type: 'directory' },
      { name: 'd/x', data: Buffer.from('x') },
    ]);
    await snaps.prepare('base-extract');
    await applyLayer(Readable.from([base.gz]), await snaps.upperDir('base-extract'), { mode: 'overlay' });
    await snaps.commit('base', 'base-extract');
    const mnt = path.join(tempDir(), 'rootfs');
    mkdirSync(mnt);
    await withMounted(await snaps.prepare('run', 'base'), mnt, async () => {
      rmSync(path.join(mnt, 'f'));
      mkdirSync(path.join(mnt, 'f'));
      writeFileSync(path.join(mnt, 'f', 'x'), 'x');
      rmSync(path.join(mnt, 'hostlink'));
      mkdirSync(path.join(mnt, 'hostlink'));
      writeFileSync(path.join(mnt, 'hostlink', 'same'), 'same');
      execFileSync('touch', ['-r', path.join(canary, 'same'), path.join(mnt, 'hostlink', 'same')]);
      execFileSync('chmod', ['--reference', path.join(canary, 'same'), path.join(mnt, 'hostlink', 'same')]);
      rmSync(path.join(mnt, 'd'), { recursive: true });
      writeFileSync(path.join(mnt, 'd'), 'now a file');
    });
    const changes = withoutStats(await upperdirChanges({ upper: await snaps.upperDir('run'), lowers: await snaps.lowerDirs('run') }));
    expect(changes).toEqual([
      { kind: 'modify', path: 'd' },
      { kind: 'modify', path: 'f', opaque: true },
      { kind: 'add', path: 'f/x' },
      { kind: 'modify', path: 'hostlink', opaque: true },
      { kind: 'add', path: 'hostlink/same' },
    ]);
  });
});

/** The changes as kinds and paths: the `lstat` a change may carry for the layer writer is not compared. */
function withoutStats(changes: Change[]): Array<Omit<Change, 'stat'>> {
  return changes.map(({ stat: _stat, ...change }) => change);
}

// A step writes its layer after the commit only where the differ leaves the upper dir alone
// (`ops/active-snapshot.ts` `commitAndDiff`); a fuse-overlayfs upper dir has directory times put back.
describe('MountDiffer.readsOnly, for the mounts each snapshotter prepares', () => {
  it.each([
    ['overlay', (root: string) => new OverlaySnapshotter(root), true],
    ['overlay with userxattr', (root: string) => new OverlaySnapshotter(root, { userXattr: true }), true],
    ['fuse-overlayfs', (root: string) => new OverlaySnapshotter(root, { fuse: true }), false],
    ['copying', (root: string) => new CopyingSnapshotter(root), true],
  ])('%s: %s', async (_name, make, expected) => {
    const root = tempDir();
    const snaps = make(root);
    const differ = new MountDiffer(new LocalContentStore(root), root, 'uncompressed');
    await snaps.commit('base', (await snaps.prepare('first'), 'first'));
    expect([differ.readsOnly(await snaps.prepare('first-child')), differ.readsOnly(await snaps.prepare('child', 'base'))]).toEqual([true, expected]);
  });
});
