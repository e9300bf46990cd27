/**
 * The local image index: which image each name (`docker.io/library/busybox:1.36`) points to.
 * One JSON file under the state root, replaced atomically under a cross-process lock, so concurrent
 * pulls and builds never lose each other's updates.
 *
 * A damaged index is set aside as `images.json.corrupt-<time>` and the records that can still be
 * read are kept (`util/record-file.ts`); the warning names the images lost. Their blobs are not
 * lost with them: `prune` keeps every blob a set-aside index mentions (`setAsideDigests`) until the
 * user removes that file, so an image that cannot be pulled or built again (one that was loaded)
 * can still be recovered from it by hand.
 */
import path from 'node:path';
import { isDigest } from '../digest/digest.js';
import type { Descriptor } from '../image/oci-types.js';
import { namesIn, readTextIfExists } from '../util/absent.js';
import { RecordFile } from '../util/record-file.js';
import { ignoreWarnings, isObject, type Warn } from '../util/set-aside.js';

/**
 * The name of an image that has none (an untagged build, a nameless archive): docker lists such an
 * image as `<none>:<none>`; here it is recorded under `<none>@<manifest digest>`, which no user
 * reference can spell, so its id and digest reach it until it gets a name or is pruned.
 */
export function danglingName(manifestDigest: string): string {
  return `${DANGLING}@${manifestDigest}`;
}

/** Whether a record is a dangling image's (see `danglingName`). */
export function isDangling(record: Pick<ImageRecord, 'name'>): boolean {
  return record.name.startsWith(`${DANGLING}@`);
}

const DANGLING = '<none>';

/** One named image. */
export interface ImageRecord {
  /** The canonical reference (`docker.io/library/busybox:1.36`). */
  name: string;
  /** What the name resolved to in the registry: an index or a manifest. */
  target: Descriptor;
  /** The platform manifest stored locally. */
  manifest: Descriptor;
  /** The config digest: the image id. */
  config: string;
  /** The config's `created` time, if any. */
  created?: string;
  platform: string;
  /** Sum of the compressed layer sizes. */
  size: number;
  /** When the record was written. */
  updated: string;
  /**
   * When `target` is an index: every platform stored locally (`manifest` and `config` above are
   * one of them, the host's where it is there).
   */
  platforms?: PlatformImage[];
}

/** One platform's image of an index record. */
export interface PlatformImage {
  platform: string;
  manifest: Descriptor;
  config: string;
  size: number;
}

const FILE = 'images.json';

function isDescriptor(value: unknown): value is Descriptor {
  return (
    isObject(value) &&
    typeof value.mediaType === 'string' &&
    typeof value.digest === 'string' &&
    isDigest(value.digest) &&
    typeof value.size === 'number'
  );
}

/** A record as tsbuild writes it, stored under its own name. */
function isPlatformImage(value: unknown): value is PlatformImage {
  if (!isObject(value)) return false;
  const { platform, manifest, config, size } = value;
  return typeof platform === 'string' && isDescriptor(manifest) && typeof config === 'string' && isDigest(config) && typeof size === 'number';
}

function isImageRecord(value: unknown, key: string): value is ImageRecord {
  if (!isObject(value)) return false;
  const { name, target, manifest, config, created, platform, size, updated, platforms } = value;
  return (
    name === key &&
    (platforms === undefined || (Array.isArray(platforms) && platforms.every(isPlatformImage))) &&
    isDescriptor(target) &&
    isDescriptor(manifest) &&
    typeof config === 'string' &&
    isDigest(config) &&
    (created === undefined || typeof created === 'string') &&
    typeof platform === 'string' &&
    typeof size === 'number' &&
    typeof updated === 'string'
  );
}

/** The image index under a state root. */
export class ImageIndex {
  private readonly records: RecordFile<ImageRecord>;

  /** `warn`: told when the index is damaged and set aside. */
  constructor(
    private readonly root: string,
    warn: Warn = ignoreWarnings,
  ) {
    this.records = new RecordFile(path.join(root, FILE), {
      field: 'images',
      keyField: 'name',
      check: isImageRecord,
      what: 'the image index',
      consequence: (_lost, aside) =>
        `pull or build them again; prune keeps the blobs ${aside ?? 'the damaged index'} names until that file is removed`,
      warn,
    });
  }

  /** Every record, sorted by name. */
  async list(): Promise<ImageRecord[]> {
    return Object.values(await this.records.read()).sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(name: string): Promise<ImageRecord | undefined> {
    return (await this.records.read())[name];
  }

  /**
   * Adds or replaces the record for `record.name`. A record that says the same (all but its
   * `updated` time) is left as it is, so a no-op rebuild writes nothing here. A named image is no
   * longer dangling: its `<none>` record goes, as docker's does when an image is tagged.
   */
  async put(record: ImageRecord): Promise<void> {
    const dangling = danglingName(record.manifest.digest);
    const same = (images: Readonly<Record<string, ImageRecord>>): boolean => {
      const a = images[record.name];
      const settled = isDangling(record) || images[dangling] === undefined;
      return settled && a !== undefined && JSON.stringify({ ...a, updated: '' }) === JSON.stringify({ ...record, updated: '' });
    };
    if (same(await this.records.read())) return;
    await this.records.update((images) => {
      if (same(images)) return;
      images[record.name] = record;
      if (!isDangling(record)) delete images[dangling];
    });
  }

  /**
   * Records the image of `record` as dangling unless a record (named or dangling) already points to
   * its manifest; a no-op rebuild of an untagged image writes nothing.
   */
  async putDangling(record: Omit<ImageRecord, 'name'>): Promise<void> {
    const known = (images: Readonly<Record<string, ImageRecord>>): boolean =>
      Object.values(images).some((r) => r.manifest.digest === record.manifest.digest);
    if (known(await this.records.read())) return;
    await this.records.update((images) => {
      if (known(images)) return;
      const name = danglingName(record.manifest.digest);
      images[name] = { ...record, name };
    });
  }

  /**
   * Replaces the record for `name` with what `change` makes of the current one (undefined: none),
   * under the lock, so two writers merging into one record (two platforms pulled at once) keep both.
   */
  async update(name: string, change: (current: ImageRecord | undefined) => ImageRecord): Promise<ImageRecord> {
    return this.records.update((images) => {
      const record = change(images[name]);
      images[name] = record;
      if (!isDangling(record)) delete images[danglingName(record.manifest.digest)];
      return record;
    });
  }

  /** Removes a name; false when it was not there. */
  async remove(name: string): Promise<boolean> {
    return this.records.update((images) => {
      if (!images[name]) return false;
      delete images[name];
      return true;
    });
  }

  /** Every digest that a set-aside (damaged) index file mentions: blobs prune must keep. */
  async setAsideDigests(): Promise<string[]> {
    const digests = new Set<string>();
    for (const name of await namesIn(this.root)) {
      if (!name.startsWith(`${FILE}.corrupt-`)) continue;
      const text = (await readTextIfExists(path.join(this.root, name))) ?? '';
      for (const [digest] of text.matchAll(/sha256:[0-9a-f]{64}/g)) digests.add(digest);
    }
    return [...digests].sort();
  }
}
