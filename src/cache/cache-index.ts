/**
 * The persistent cache index: cache key → the committed snapshot and the layer a step produced.
 * One small JSON file per key under `<root>/cache-index/`, written atomically; a record is only
 * trusted when its snapshot and layer blob still exist (the caller checks). A record that cannot
 * be read (damaged JSON, a shape tsbuild does not write) is set aside with a warning and is a miss:
 * the step runs again and writes a good one.
 */
import { mkdir, rm } from 'node:fs/promises';
import { createFileAtomic, writeFileAtomic } from '../util/atomic-write.js';
import path from 'node:path';
import type { Digest } from '../digest/digest.js';
import { digestHex, digestOf, isDigest } from '../digest/digest.js';
import type { Descriptor } from '../image/oci-types.js';
import type { RememberedParts } from '../solve/step-resolver.js';
import { namesIn, readOwnTextIfExists } from '../util/absent.js';
import { ignoreWarnings, isObject, readJsonOrSetAside, type Warn } from '../util/set-aside.js';

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

const isStringList = (value: unknown): value is string[] => Array.isArray(value) && value.every((v) => typeof v === 'string');

/** A step's layer and time as tsbuild writes them (in a cache record, in an exported cache). */
export function isStepResult(value: unknown): value is Pick<CacheRecord, 'layer' | 'created'> {
  if (!isObject(value) || typeof value.created !== 'string' || !isObject(value.layer)) return false;
  const { descriptor, diffID } = value.layer;
  return (
    typeof diffID === 'string' &&
    isDigest(diffID) &&
    isObject(descriptor) &&
    typeof descriptor.mediaType === 'string' &&
    typeof descriptor.digest === 'string' &&
    isDigest(descriptor.digest) &&
    typeof descriptor.size === 'number'
  );
}

/** A record as `put` writes it. */
function isCacheRecord(value: unknown): value is CacheRecord {
  return isStepResult(value) && typeof (value as { snapshot?: unknown }).snapshot === 'string';
}

function isKeyParts(value: unknown): value is KeyPartsRecord {
  return (
    isObject(value) &&
    typeof value.definition === 'string' &&
    typeof value.parent === 'string' &&
    isStringList(value.inputs) &&
    isStringList(value.content)
  );
}

export class CacheIndex {
  private readonly dir: string;

  /** `warn`: told when a record is damaged and set aside. */
  constructor(
    root: string,
    private readonly warn: Warn = ignoreWarnings,
  ) {
    this.dir = path.join(root, 'cache-index');
  }

  async get(key: Digest): Promise<CacheRecord | undefined> {
    return this.readRecord(path.join(this.dir, `${digestHex(key)}.json`));
  }

  private readRecord(file: string): Promise<CacheRecord | undefined> {
    return readJsonOrSetAside(
      file,
      isCacheRecord,
      { what: 'cache record', consequence: 'the step runs again', warn: this.warn },
      readOwnTextIfExists,
    );
  }

  /** The key parts last seen for a step location (a file name derived from it). */
  async lastParts(location: string): Promise<KeyPartsRecord | undefined> {
    return readJsonOrSetAside(
      this.locationFile(location),
      isKeyParts,
      { what: 'cache-miss record', consequence: 'the reason for this miss is unknown', warn: this.warn },
      readOwnTextIfExists,
    );
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
      const record = await this.readRecord(file);
      if (record !== undefined) out.push({ file, record });
    }
    return out;
  }

  /** Removes a record by its key file. */
  async drop(file: string): Promise<void> {
    await rm(file, { force: true });
  }

  /** Writes the record for `key`, replacing any there. */
  async put(key: Digest, record: CacheRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(path.join(this.dir, `${digestHex(key)}.json`), JSON.stringify(record));
  }

  /** Writes the record for `key` only if there is none; returns whether it was written. */
  async putIfAbsent(key: Digest, record: CacheRecord): Promise<boolean> {
    await mkdir(this.dir, { recursive: true });
    return createFileAtomic(path.join(this.dir, `${digestHex(key)}.json`), JSON.stringify(record));
  }
}
