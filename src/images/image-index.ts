/**
 * The local image index: which image each name (`docker.io/library/busybox:1.36`) points to.
 * One JSON file under the state root, replaced atomically under a cross-process lock, so concurrent
 * pulls and builds never lose each other's updates.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-write.js';
import path from 'node:path';
import type { Descriptor } from '../image/oci-types.js';
import { withFileLock } from '../util/file-lock.js';

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
}

interface IndexFile {
  version: 1;
  images: Record<string, ImageRecord>;
}

/** The image index under a state root. */
export class ImageIndex {
  private readonly file: string;

  constructor(root: string) {
    this.file = path.join(root, 'images.json');
  }

  /** Every record, sorted by name. */
  async list(): Promise<ImageRecord[]> {
    const { images } = await this.read();
    return Object.values(images).sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(name: string): Promise<ImageRecord | undefined> {
    return (await this.read()).images[name];
  }

  /**
   * Adds or replaces the record for `record.name`. A record that says the same (all but its
   * `updated` time) is left as it is, so a no-op rebuild writes nothing here. A named image is no
   * longer dangling: its `<none>` record goes, as docker's does when an image is tagged.
   */
  async put(record: ImageRecord): Promise<void> {
    const dangling = danglingName(record.manifest.digest);
    const same = (index: IndexFile): boolean => {
      const a = index.images[record.name];
      const settled = isDangling(record) || index.images[dangling] === undefined;
      return settled && a !== undefined && JSON.stringify({ ...a, updated: '' }) === JSON.stringify({ ...record, updated: '' });
    };
    if (same(await this.read())) return;
    await mkdir(path.dirname(this.file), { recursive: true });
    await withFileLock(this.file, async () => {
      const current = await this.read();
      if (same(current)) return;
      const images = { ...current.images, [record.name]: record };
      if (!isDangling(record)) delete images[dangling];
      await this.write({ ...current, images });
    });
  }

  /**
   * Records the image of `record` as dangling unless a record (named or dangling) already points to
   * its manifest; a no-op rebuild of an untagged image writes nothing.
   */
  async putDangling(record: Omit<ImageRecord, 'name'>): Promise<void> {
    const known = (index: IndexFile): boolean => Object.values(index.images).some((r) => r.manifest.digest === record.manifest.digest);
    if (known(await this.read())) return;
    await mkdir(path.dirname(this.file), { recursive: true });
    await withFileLock(this.file, async () => {
      const current = await this.read();
      if (known(current)) return;
      const name = danglingName(record.manifest.digest);
      await this.write({ ...current, images: { ...current.images, [name]: { ...record, name } } });
    });
  }

  /** Removes a name; false when it was not there. */
  async remove(name: string): Promise<boolean> {
    return withFileLock(this.file, async () => {
      const current = await this.read();
      if (!current.images[name]) return false;
      const images = { ...current.images };
      delete images[name];
      await this.write({ ...current, images });
      return true;
    });
  }

  private async read(): Promise<IndexFile> {
    try {
      return JSON.parse(await readFile(this.file, 'utf8')) as IndexFile;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, images: {} };
      throw err;
    }
  }

  private async write(index: IndexFile): Promise<void> {
    await writeFileAtomic(this.file, `${JSON.stringify(index, null, 2)}\n`);
  }
}
