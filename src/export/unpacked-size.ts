/**
 * The unpacked size of a stored image, which `docker images` and `docker history` show: a layer's
 * size as an uncompressed tar, found by streaming it through its decompressor once and remembered
 * in `<root>/unpacked-sizes.json` (by the layer's compressed digest), so listing again costs a read
 * of that file.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { layerCompression, layerDecompressor } from '../archive/compression.js';
import type { ContentStore } from '../content/store.js';
import { parseDigest } from '../digest/digest.js';
import type { Descriptor } from '../image/oci-types.js';
import { writeFileAtomic } from '../util/atomic-write.js';

/** Unpacked sizes of layers, remembered under a state root. */
export class UnpackedSizes {
  private known: Record<string, number> | undefined;
  private changed = false;

  constructor(
    private readonly root: string,
    private readonly store: ContentStore,
  ) {}

  /** The layer's size uncompressed (its blob size when the blob is not stored). */
  async of(layer: Descriptor): Promise<number> {
    const known = await this.load();
    const remembered = known[layer.digest];
    if (remembered !== undefined) return remembered;
    // A plain tar (a build's own layer) is its own unpacked size; so is a blob that is not stored.
    if (layerCompression(layer.mediaType) === 'uncompressed' || !(await this.store.info(parseDigest(layer.digest)))) return layer.size;
    let bytes = 0;
    const count = new Writable({
      write(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        done();
      },
    });
    await pipeline(await this.store.reader(parseDigest(layer.digest)), layerDecompressor(layerCompression(layer.mediaType)), count);
    known[layer.digest] = bytes;
    this.changed = true;
    return bytes;
  }

  /** Writes what was learnt; a lost race with another writer only costs a recount. */
  async save(): Promise<void> {
    if (this.changed && this.known) await writeFileAtomic(this.file(), `${JSON.stringify(this.known)}\n`);
    this.changed = false;
  }

  private file(): string {
    return path.join(this.root, 'unpacked-sizes.json');
  }

  private async load(): Promise<Record<string, number>> {
    this.known ??= await readFile(this.file(), 'utf8')
      .then((text) => JSON.parse(text) as Record<string, number>)
      .catch(() => ({})); // a missing or damaged memo: every size is measured again
    return this.known;
  }
}
