import { execFileSync } from 'node:child_process';
import { copyFileSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync, lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LocalContentStore } from '../../src/content/local-store.js';
import { applyLayer } from '../../src/diff/applier.js';
import { writeLayer } from '../../src/diff/differ.js';
import { upperdirChanges } from '../../src/diff/overlay-changes.js';
import { doubleWalkChanges } from '../../src/diff/walk-changes.js';
import type { Digest } from '../../src/digest/digest.js';
import { withMounted } from '../../src/runtime/mount.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { makeLayer } from '../helpers/oci-image.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';
import { layerEntries } from '../helpers/layers.js';
import { treeListing } from '../helpers/umoci.js';

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
    const baseDigest = (await store.ingest(Readable.from([base.gz]), { digest: `sha256:${(await import('node:crypto')).createHash('sha256').update(base.gz).digest('hex')}` as Digest })).digest;

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
      mkdirSync(path.join(mnt, 'proc')); // a mount stub, as runc leaves them
    });
    const upper = await snaps.upperDir('run');
    const changes = await upperdirChanges({ upper, lowers: await snaps.lowerDirs('run'), mountStubs: ['proc'] });
    expect(changes).toEqual([
      { kind: 'delete', path: 'bin/cat' },
      { kind: 'modify', path: 'data', opaque: true },
      { kind: 'add', path: 'data/c' },
      { kind: 'modify', path: 'etc/passwd' },
      { kind: 'add', path: 'h1' },
      { kind: 'add', path: 'h2' },
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
    const expected = (await withMounted(await snaps.view('check', 'after'), merged, async () => treeListing(merged))).filter((l) => !l.startsWith('proc '));
    const layout = tempDir();
    mkdirSync(path.join(layout, 'blobs', 'sha256'), { recursive: true });
    const put = (data: Buffer | string): { digest: string; size: number } => {
      const digest = `sha256:${execFileSync('sha256sum', { input: data }).toString().slice(0, 64)}`;
      writeFileSync(path.join(layout, 'blobs', 'sha256', digest.slice(7)), data);
      return { digest, size: Buffer.byteLength(data) };
    };
    for (const d of [baseDigest, layer.descriptor.digest as Digest]) copyFileSync(store.blobPath(d), path.join(layout, 'blobs', 'sha256', d.slice(7)));
    const config = put(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [base.diffId, layer.diffID] } }));
    const manifest = put(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: baseDigest, size: base.gz.length }, layer.descriptor],
    }));
    writeFileSync(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(path.join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'test' } }] }));
    const bundle = path.join(tempDir(), 'bundle');
    execFileSync('umoci', ['unpack', '--image', `${layout}:test`, bundle], { stdio: 'pipe' });
    expect(treeListing(path.join(bundle, 'rootfs'))).toEqual(expected);

    // And the walking differ, diffing the trees directly, agrees on what the layer must do.
    const lowerTree = tempDir();
    await applyLayer(Readable.from([base.gz]), lowerTree, { mode: 'plain' });
    const walked = await doubleWalkChanges(lowerTree, path.join(bundle, 'rootfs'));
    expect(walked.map((c) => `${c.kind} ${c.path}`)).toEqual([
      'modify bin', 'delete bin/cat', 'modify data', 'delete data/a', 'delete data/b', 'add data/c', 'modify etc/passwd', 'add h1', 'add h2', 'modify tmp', 'add tmp/new.txt',
    ]);
  });
});
