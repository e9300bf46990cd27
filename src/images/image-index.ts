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
   * `updated` time) is left as it is, so a no-op rebuild writes nothing here.
   */
  async put(record: ImageRecord): Promise<void> {
    const same = (a: ImageRecord | undefined): boolean =>
      a !== undefined && JSON.stringify({ ...a, updated: '' }) === JSON.stringify({ ...record, updated: '' });
    if (same((await this.read()).images[record.name])) return;
    await mkdir(path.dirname(this.file), { recursive: true });
    await withFileLock(this.file, async () => {
      const current = await this.read();
      if (same(current.images[record.name])) return;
      await this.write({ ...current, images: { ...current.images, [record.name]: record } });
    });
  }

  /**
   * Replaces the record for `name` with what `change` makes of the current one (undefined: none),
   * under the lock, so two writers merging into one record (two platforms pulled at once) keep both.
   */
  async update(name: string, change: (current: ImageRecord | undefined) => ImageRecord): Promise<ImageRecord> {
    await mkdir(path.dirname(this.file), { recursive: true });
    return withFileLock(this.file, async () => {
      const current = await this.read();
      const record = change(current.images[name]);
      await this.write({ ...current, images: { ...current.images, [name]: record } });
      return record;
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
