/**
 * The final root filesystem of an image, as `type=local` (files in a directory) and `type=tar`
 * (one tar file) outputs write it: the layers are applied in order, whiteouts deleting, with the
 * same escape checks as every other unpack. The tar is written beside its destination and renamed
 * into place when complete.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { makeDirs } from '../util/make-dirs.js';
import { pipeline } from 'node:stream/promises';
import { layerCompression } from '../archive/compression.js';
import { TarWriter } from '../archive/tar.js';
import type { ContentStore } from '../content/store.js';
import { applyLayer } from '../diff/applier.js';
import { writeChanges } from '../diff/tar-changes.js';
import { doubleWalkChanges } from '../diff/walk-changes.js';
import { parseDigest } from '../digest/digest.js';
import { xattrsUnder } from '../util/native.js';
import type { StoredImage } from './stored-image.js';

/** Applies the image's layers to `dest` (created when missing). */
export async function writeRootfsDir(
  image: StoredImage,
  store: ContentStore,
  dest: string,
  signal?: AbortSignal,
  options: { ownedByCaller?: boolean } = {},
): Promise<void> {
  await makeDirs(dest);
  // `ownedByCaller`: every file belongs to whoever runs this (uid 0 here), not to the image's owners.
  const owner = options.ownedByCaller ? { owner: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 } } : {};
  for (const layer of image.manifest.layers) {
    const source = await store.reader(parseDigest(layer.digest), signal ? { signal } : {});
    await applyLayer(source, dest, { mode: 'plain', ...owner, compression: layerCompression(layer.mediaType), ...(signal ? { signal } : {}) });
  }
}

/** Writes the image's root filesystem as a tar file at `dest`. */
export async function writeRootfsTar(image: StoredImage, store: ContentStore, dest: string, signal?: AbortSignal): Promise<void> {
  await makeDirs(path.dirname(path.resolve(dest)));
  const work = await mkdtemp(path.join(path.dirname(path.resolve(dest)), '.tsbuild-rootfs-'));
  const temp = `${dest}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    const tree = path.join(work, 'tree');
    const empty = path.join(work, 'empty');
    await mkdir(empty);
    await writeRootfsDir(image, store, tree, signal);
    const tar = new TarWriter();
    const flowing = pipeline(tar.stream, createWriteStream(temp), signal ? { signal } : {});
    flowing.catch(() => undefined); // awaited below; this only keeps an early failure from being unhandled
    try {
      const xattrs = await xattrsUnder(tree);
      await writeChanges(tar, await doubleWalkChanges(empty, tree), tree, xattrs);
      tar.finish();
    } catch (err) {
      tar.destroy(err as Error);
      throw err;
    }
    await flowing;
    await rename(temp, dest);
  } finally {
    await rm(work, { recursive: true, force: true });
    await rm(temp, { force: true });
  }
}
