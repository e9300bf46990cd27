/**
 * Cache export and import of `type=local`: a directory with the layer blobs of the exported steps
 * (`blobs/sha256/<hex>`) and `cache.json` mapping cache keys to those layers. A fresh machine
 * importing it restores a step by unpacking its layer instead of running the step. A `cache.json`
 * that cannot be read is set aside with a warning: an import goes without it, an export starts a new
 * one.
 */
import { createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomic } from '../util/atomic-write.js';
import path from 'node:path';
import { makeDirs } from '../util/make-dirs.js';
import type { ContentStore } from '../content/store.js';
import { digestHex, parseDigest } from '../digest/digest.js';
import { isStepResult, type CacheRecord } from './cache-index.js';
import { isAbsent, statIfExists } from '../util/absent.js';
import { NotFoundError } from '../errors.js';
import { privateSibling, removeDeadSiblings } from '../util/private-sibling.js';
import { ignoreWarnings, isObject, readJsonOrSetAside, type Warn } from '../util/set-aside.js';

/** What an exported step is: its layer and when it was made. */
export type ExportedStep = Pick<CacheRecord, 'layer' | 'created'>;

interface CacheFile {
  version: 1;
  steps: Record<string, ExportedStep>;
}

/** Adds `steps` (by key) and their layer blobs to the cache directory `dir`. */
export async function exportCache(dir: string, steps: ReadonlyMap<string, ExportedStep>, store: ContentStore, warn?: Warn): Promise<void> {
  await makeDirs(path.join(dir, 'blobs', 'sha256'));
  // Half-copied blobs of a killed export (named after it) go first.
  await removeDeadSiblings(path.join(dir, 'blobs', 'sha256'));
  const existing = await loadCache(dir, warn);
  for (const [key, step] of steps) {
    const digest = parseDigest(step.layer.descriptor.digest);
    const target = path.join(dir, 'blobs', 'sha256', digestHex(digest));
    // A blob already exported (same digest, same size) is the same bytes; others are streamed in
    // under a temporary name private to this writer and renamed, so a reader never sees half a blob.
    if ((await statIfExists(target))?.size !== step.layer.descriptor.size) {
      const temp = privateSibling(target, 'tmp');
      try {
        await pipeline(await store.reader(digest), createWriteStream(temp));
        await rename(temp, target);
      } finally {
        await rm(temp, { force: true });
      }
    }
    existing.set(key, step);
  }
  const file = path.join(dir, 'cache.json');
  await writeFileAtomic(file, JSON.stringify({ version: 1, steps: Object.fromEntries(existing) } satisfies CacheFile));
}

function isCacheFile(value: unknown): value is CacheFile {
  return isObject(value) && value.version === 1 && isObject(value.steps) && Object.values(value.steps).every(isStepResult);
}

/** The steps of a cache directory (empty when there is none, or when its index is damaged). */
export async function loadCache(dir: string, warn: Warn = ignoreWarnings): Promise<Map<string, ExportedStep>> {
  const file = await readJsonOrSetAside(path.join(dir, 'cache.json'), isCacheFile, {
    what: 'the build cache index',
    consequence: 'its steps are not used',
    warn,
  });
  return new Map(Object.entries(file?.steps ?? {}));
}

/** The path of an exported layer blob. */
export function exportedBlob(dir: string, digest: string): string {
  return path.join(dir, 'blobs', 'sha256', digestHex(parseDigest(digest)));
}

/** An exported layer blob, opened; a blob the directory does not hold is a `NotFoundError`. */
export async function openExportedBlob(dir: string, digest: string): Promise<Readable> {
  const handle = await open(exportedBlob(dir, digest), 'r').catch((err: unknown) =>
    Promise.reject(isAbsent(err) ? new NotFoundError(`the build cache at ${dir} has no blob ${digest}`) : err),
  );
  return handle.createReadStream();
}

/**
 * Why `dir` holds no build cache to import (no such directory, no `cache.json` in it), or
 * undefined when it has one.
 */
export async function missingCache(dir: string): Promise<string | undefined> {
  const info = await statIfExists(dir);
  if (!info) return 'no such directory';
  if (!info.isDirectory()) return 'not a directory';
  return (await statIfExists(path.join(dir, 'cache.json'))) ? undefined : 'it holds no cache.json';
}
