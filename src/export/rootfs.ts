/**
 * The final root filesystem of an image, as `type=local` (files in a directory) and `type=tar`
 * (one tar file, or a tar on stdout) outputs write it: the layers are applied in order, whiteouts deleting, with the
 * same escape checks as every other unpack. The tar is written beside its destination and renamed
 * into place when complete.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { makeDirs } from '../util/make-dirs.js';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { layerCompression } from '../archive/compression.js';
import { TarWriter } from '../archive/tar.js';
import { readFailure, type ContentStore } from '../content/store.js';
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
    const digest = parseDigest(layer.digest);
    const source = await store.reader(digest, signal ? { signal } : {});
    const options = { mode: 'plain' as const, ...owner, compression: layerCompression(layer.mediaType), ...(signal ? { signal } : {}) };
    await applyLayer(source, dest, options).catch(async (err: unknown) => Promise.reject(await readFailure(store, digest, err)));
  }
}

/**
 * Writes the image's root filesystem as a tar file at `dest`, or to a stream (stdout for `dest=-`,
 * left open; the tree is then made in `workDir`).
 */
export async function writeRootfsTar(
  image: StoredImage,
  store: ContentStore,
  dest: string | Writable,
  options: { signal?: AbortSignal; workDir?: string } = {},
): Promise<void> {
  await writeRootfsTarOf([{ image, dir: '.' }], store, dest, options);
}

/**
 * Writes several root filesystems as one tar (a file at `dest`, or a stream), each under its
 * directory (`.`: the top), as BuildKit's tar output holds one directory per platform.
 */
export async function writeRootfsTarOf(
  parts: ReadonlyArray<{ image: StoredImage; dir: string }>,
  store: ContentStore,
  dest: string | Writable,
  options: { signal?: AbortSignal; workDir?: string } = {},
): Promise<void> {
  const signal = options.signal;
  const toFile = typeof dest === 'string';
  const beside = toFile ? path.dirname(path.resolve(dest)) : (options.workDir ?? path.resolve('.'));
  await makeDirs(beside);
  const work = await mkdtemp(path.join(beside, '.tsbuild-rootfs-'));
  const temp = toFile ? `${dest}.tmp-${randomBytes(6).toString('hex')}` : undefined;
  try {
    const tree = path.join(work, 'tree');
    const empty = path.join(work, 'empty');
    await mkdir(empty);
    for (const { image, dir } of parts) await writeRootfsDir(image, store, path.join(tree, dir), signal);
    const tar = new TarWriter();
    const target = temp === undefined ? (dest as Writable) : createWriteStream(temp);
    const flowing = pipeline(tar.stream, target, { ...(signal ? { signal } : {}), end: toFile });
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
    if (temp !== undefined) await rename(temp, dest as string);
  } finally {
    await rm(work, { recursive: true, force: true });
    if (temp !== undefined) await rm(temp, { force: true });
  }
}
