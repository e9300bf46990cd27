/**
 * The persistent cache index: cache key → the committed snapshot and the layer a step produced.
 * One small JSON file per key under `<root>/cache-index/`, written atomically; a record is only
 * trusted when its snapshot and layer blob still exist (the caller checks).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Digest } from '../digest/digest.js';
import { digestHex } from '../digest/digest.js';
import type { Descriptor } from '../image/oci-types.js';

/** What a cached step left. */
export interface CacheRecord {
  snapshot: string;
  layer: { descriptor: Descriptor; diffID: string };
  created: string;
}

export class CacheIndex {
  private readonly dir: string;

  constructor(root: string) {
    this.dir = path.join(root, 'cache-index');
  }

  async get(key: Digest): Promise<CacheRecord | undefined> {
    const text = await readFile(path.join(this.dir, `${digestHex(key)}.json`), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : (JSON.parse(text) as CacheRecord);
  }

  async put(key: Digest, record: CacheRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const file = path.join(this.dir, `${digestHex(key)}.json`);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(record));
    await rename(tmp, file);
  }
}
