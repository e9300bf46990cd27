/**
 * The persistent cache index: cache key → the committed snapshot and the layer a step produced.
 * One small JSON file per key under `<root>/cache-index/`, written atomically; a record is only
 * trusted when its snapshot and layer blob still exist (the caller checks).
 */
import { mkdir, rm } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-write.js';
import path from 'node:path';
import type { Digest } from '../digest/digest.js';
import { digestHex, digestOf } from '../digest/digest.js';
import type { Descriptor } from '../image/oci-types.js';
import type { RememberedParts } from '../solve/step-resolver.js';
import { namesIn, readTextIfExists } from '../util/absent.js';

/** What a cached step left. */
export interface CacheRecord {
  snapshot: string;
  layer: { descriptor: Descriptor; diffID: string };
  created: string;
}

/** The parts a step's key was made of, remembered by the step's place in the Dockerfile. */
export type KeyPartsRecord = RememberedParts;

/** Why a step missed the cache, compared with the last build of the same step. */
export function missReason(previous: KeyPartsRecord | undefined, current: KeyPartsRecord): string {
  if (!previous) return 'not built before';
  if (previous.definition !== current.definition) return 'the instruction changed';
  if (previous.parent !== current.parent) return 'a previous step changed';
  if (canonical(previous.inputs) !== canonical(current.inputs)) return 'a stage or image it reads changed';
  if (canonical(previous.content) !== canonical(current.content)) return 'the context files it reads changed';
  return 'its cached result was removed';
}

const canonical = (list: readonly string[]): string => JSON.stringify(list);

export class CacheIndex {
  private readonly dir: string;

  constructor(root: string) {
    this.dir = path.join(root, 'cache-index');
  }

  async get(key: Digest): Promise<CacheRecord | undefined> {
    const text = await readTextIfExists(path.join(this.dir, `${digestHex(key)}.json`));
    return text === undefined ? undefined : (JSON.parse(text) as CacheRecord);
  }

  /** The key parts last seen for a step location (a file name derived from it). */
  async lastParts(location: string): Promise<KeyPartsRecord | undefined> {
    const text = await readTextIfExists(this.locationFile(location));
    return text === undefined ? undefined : (JSON.parse(text) as KeyPartsRecord);
  }

  async rememberParts(location: string, parts: KeyPartsRecord): Promise<void> {
    await mkdir(path.join(this.dir, 'steps'), { recursive: true });
    await writeFileAtomic(this.locationFile(location), JSON.stringify(parts));
  }

  private locationFile(location: string): string {
    return path.join(this.dir, 'steps', `${digestHex(digestOf(location))}.json`);
  }

  /** Every record, with its key file. */
  async entries(): Promise<Array<{ file: string; record: CacheRecord }>> {
    const names = await namesIn(this.dir);
    const out: Array<{ file: string; record: CacheRecord }> = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const file = path.join(this.dir, name);
      const text = await readTextIfExists(file);
      if (text !== undefined) out.push({ file, record: JSON.parse(text) as CacheRecord });
    }
    return out;
  }

  /** Removes a record by its key file. */
  async drop(file: string): Promise<void> {
    await rm(file, { force: true });
  }

  async put(key: Digest, record: CacheRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(path.join(this.dir, `${digestHex(key)}.json`), JSON.stringify(record));
  }
}
