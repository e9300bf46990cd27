/** Reading a stored layer back (gzipped, or uncompressed as a build stores it): its entries as `type name [-> link]`. */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { detectCompression } from '../../src/archive/compression.js';
import { readTar } from '../../src/archive/tar.js';
import type { LocalContentStore } from '../../src/content/local-store.js';
import type { Digest } from '../../src/digest/digest.js';

export async function layerEntries(store: LocalContentStore, digest: string): Promise<string[]> {
  const out: string[] = [];
  for await (const { header, body } of readTar(await layerTar(store, digest))) {
    body.resume();
    out.push(`${header.type} ${header.name}${header.linkname ? ` -> ${header.linkname}` : ''}`);
  }
  return out;
}

/** The content of the regular file `name` in a stored layer, or undefined when the layer lacks it. */
export async function layerFile(store: LocalContentStore, digest: string, name: string): Promise<string | undefined> {
  let found: string | undefined;
  for await (const { header, body } of readTar(await layerTar(store, digest))) {
    if (header.name !== name || header.type !== 'file') {
      body.resume();
      continue;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    found = Buffer.concat(chunks).toString('utf8');
  }
  return found;
}

/** The layer's tar, whatever its compression (the first two bytes tell gzip). */
async function layerTar(store: LocalContentStore, digest: string): Promise<Readable> {
  let head: Buffer = Buffer.alloc(0);
  for await (const chunk of await store.reader(digest as Digest)) {
    head = chunk as Buffer;
    break;
  }
  const source = await store.reader(digest as Digest);
  return detectCompression(head) === 'gzip' ? source.pipe(createGunzip()) : source;
}
