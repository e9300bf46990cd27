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

/** The content of the regular file `name` in a stored layer, or undefined when the layer lacks it. */
export async function layerFile(store: LocalContentStore, digest: string, name: string): Promise<string | undefined> {
  let found: string | undefined;
  for await (const { header, body } of readTar((await store.reader(digest as Digest)).pipe(gunzip()))) {
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
