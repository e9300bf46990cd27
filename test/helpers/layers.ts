/** Reading a stored layer back: its entries as `type name [-> link]`. */
import { gunzip } from '../../src/archive/compression.js';
import { readTar } from '../../src/archive/tar.js';
import type { LocalContentStore } from '../../src/content/local-store.js';
import type { Digest } from '../../src/digest/digest.js';

export async function layerEntries(store: LocalContentStore, digest: string): Promise<string[]> {
  const out: string[] = [];
  for await (const { header, body } of readTar((await store.reader(digest as Digest)).pipe(gunzip()))) {
    body.resume();
    out.push(`${header.type} ${header.name}${header.linkname ? ` -> ${header.linkname}` : ''}`);
  }
  return out;
}
