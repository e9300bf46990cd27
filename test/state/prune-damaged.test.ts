/**
 * `prune` over damage: the blobs of images a damaged (set-aside) image index named are kept until
 * the user removes that file; a named image whose manifest no longer verifies does not stop prune,
 * the manifest is removed and counted.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LocalContentStore } from '../../src/content/local-store.js';
import { digestOf } from '../../src/digest/digest.js';
import { ImageIndex } from '../../src/images/image-index.js';
import type { ProgressSink } from '../../src/progress/events.js';
import { pruneState } from '../../src/verbs/maintenance.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-prune-damaged-');

/** An image (config, one layer, manifest) in the store, named `app:1`; returns its digests. */
async function storedImage(root: string): Promise<string[]> {
  const store = new LocalContentStore(root);
  const put = async (bytes: Buffer): Promise<string> => (await store.ingest(Readable.from([bytes]), { digest: digestOf(bytes) })).digest;
  const config = await put(Buffer.from('{"rootfs":{"type":"layers","diff_ids":[]}}'));
  const layer = await put(Buffer.from('a layer'));
  const manifest = await put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 1 },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer, size: 7 }],
      }),
    ),
  );
  const descriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifest, size: 1 };
  await new ImageIndex(root).put({
    name: 'docker.io/library/app:1',
    target: descriptor,
    manifest: descriptor,
    config,
    platform: 'linux/amd64',
    size: 7,
    updated: '2026-01-01T00:00:00.000Z',
  });
  return [config, layer, manifest].sort();
}

const blobs = (root: string): string[] =>
  readdirSync(path.join(root, 'blobs', 'sha256'))
    .map((h) => `sha256:${h}`)
    .sort();

describe('prune over damage', () => {
  it('keeps what a set-aside image index names until that file is removed', async () => {
    const root = tempDir();
    const digests = await storedImage(root);
    const index = path.join(root, 'images.json');
    writeFileSync(index, readFileSync(index, 'utf8').slice(0, -40)); // cut short: the record is lost
    const warnings: string[] = [];
    const progress: ProgressSink = { emit: (event) => void (event.type === 'message' && warnings.push(event.text)) };
    const kept = await pruneState({ root, all: true, progress });
    expect([kept.blobs, blobs(root)]).toEqual([0, digests]);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^warning: the image index .* is corrupt .*; kept 0, lost docker\.io\/library\/app:1; pull or build them again; prune keeps the blobs images\.json\.corrupt-\S+ names until that file is removed$/,
      ),
    ]);
    for (const name of readdirSync(root).filter((n) => n.startsWith('images.json.corrupt-'))) rmSync(path.join(root, name));
    const pruned = await pruneState({ root, all: true });
    expect([pruned.blobs, blobs(root)]).toEqual([3, []]);
  });

  it('a named image whose manifest no longer verifies: removed and counted, the rest pruned as usual', async () => {
    const root = tempDir();
    await storedImage(root);
    const record = await new ImageIndex(root).get('docker.io/library/app:1');
    const file = path.join(root, 'blobs', 'sha256', (record?.manifest.digest ?? '').slice(7));
    writeFileSync(file, readFileSync(file, 'utf8').replace('schemaVersion', 'schemaVersioN'));
    const result = await pruneState({ root, all: true });
    expect([result.corrupt, result.blobs]).toEqual([1, 2]);
    // Its config and layer are no image's any more (the manifest that named them is gone).
    expect(blobs(root)).toEqual([]);
  });
});
