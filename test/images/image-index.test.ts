import { statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ImageIndex, type ImageRecord } from '../../src/images/image-index.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-image-index-');
const record = (digest: string, updated: string): ImageRecord => ({
  name: 'docker.io/library/app:1',
  target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 1 },
  manifest: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 1 },
  config: `sha256:${'c'.repeat(64)}`,
  platform: 'linux/amd64',
  size: 10,
  updated,
});

describe('ImageIndex', () => {
  it('writes a changed record, and leaves the file alone when only the update time differs', async () => {
    const root = tempDir();
    const index = new ImageIndex(root);
    const a = `sha256:${'a'.repeat(64)}`;
    await index.put(record(a, '2026-01-01T00:00:00.000Z'));
    const file = path.join(root, 'images.json');
    const first = statSync(file);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await index.put(record(a, '2026-06-01T00:00:00.000Z'));
    expect(statSync(file).ino).toBe(first.ino);
    expect((await index.get('docker.io/library/app:1'))?.updated).toBe('2026-01-01T00:00:00.000Z');
    const b = `sha256:${'b'.repeat(64)}`;
    await index.put(record(b, '2026-06-01T00:00:00.000Z'));
    expect(statSync(file).ino).not.toBe(first.ino);
    expect((await index.get('docker.io/library/app:1'))?.manifest.digest).toBe(b);
  });
});
