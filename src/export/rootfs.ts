/**
 * The final root filesystem of an image, as `type=local` (files in a directory) and `type=tar`
 * (one tar file, or a tar on stdout) outputs write it: the layers are applied in order, whiteouts deleting, with the
 * same escape checks as every other unpack. A tar file is written as a private sibling of its
 * destination (`util/private-sibling.ts`) and renamed into place when complete; one a killed build
 * left is removed before the destination is written again.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { privateSibling, removeDeadSiblings } from '../util/private-sibling.js';
import { makeDirs } from '../util/make-dirs.js';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { layerCompression } from '../archive/compression.js';
import { TarWriter } from '../archive/tar-writer.js';
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
 * Writes several root filesystems as one tar (a file at `dest`, or a stream left open), each under
 * its directory (`.`: the top), as BuildKit's tar output holds one directory per platform. The
 * trees are made in `workDir`, an empty private directory of the caller's in the state root (a
 * scratch directory: `util/scratch.ts`), where a killed build's are reclaimed; the caller removes it.
 */
export async function writeRootfsTarOf(
  parts: ReadonlyArray<{ image: StoredImage; dir: string }>,
  store: ContentStore,
  dest: string | Writable,
  options: { signal?: AbortSignal; workDir: string },
): Promise<void> {
  const signal = options.signal;
  const toFile = typeof dest === 'string';
  const work = options.workDir;
  if (toFile) {
    const beside = path.dirname(path.resolve(dest));
    await makeDirs(beside);
    // Named with this process's tag: what a killed writer left beside the file goes before it is written again.
    await removeDeadSiblings(beside, [path.basename(dest)]);
  }
  const temp = toFile ? privateSibling(dest, 'tmp') : undefined;
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
      await tar.finish();
    } catch (err) {
      tar.destroy(err as Error);
      throw err;
    }
    await flowing;
    if (temp !== undefined) await rename(temp, dest as string);
  } finally {
    if (temp !== undefined) await rm(temp, { force: true });
  }
}
