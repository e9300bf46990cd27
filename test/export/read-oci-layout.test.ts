/**
 * Reading an image from an OCI layout directory (`--build-context NAME=oci-layout://DIR`): a layout is input from outside, so every document in it
 * is checked before it is used; a wrong field is one line naming the document, never a TypeError.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readOciLayoutImage } from '../../src/export/read-oci-layout.js';
import { MemoryContentStore } from '../../src/content/memory-store.js';
import { InvalidArgumentError, type TsbuildError } from '../../src/errors.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-read-oci-layout-');

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** Writes `documents` as blobs and an index.json naming the first; returns the layout dir. */
function layoutWith(manifest: unknown, config: unknown): { dir: string; manifestDigest: string; configDigest: string } {
  const dir = tempDir();
  mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  const blob = (value: unknown): { digest: string; size: number } => {
    const bytes = Buffer.from(JSON.stringify(value));
    const hex = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(path.join(dir, 'blobs', 'sha256', hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const configBlob = blob(config);
  const withConfig =
    typeof manifest === 'function'
      ? (manifest as (c: object) => unknown)({ mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob })
      : manifest;
  const manifestBlob = blob(withConfig);
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MANIFEST, ...manifestBlob }] }));
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  return { dir, manifestDigest: manifestBlob.digest, configDigest: configBlob.digest };
}

/** A fresh store for each read. */
const options = (): { store: MemoryContentStore; platform: { os: string; architecture: string } } => ({
  store: new MemoryContentStore(),
  platform: { os: 'linux', architecture: 'amd64' },
});
const goodConfig = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } };

describe('readOciLayoutImage', () => {
  it.each([
    {
      name: 'a layer whose digest is a number',
      manifest: (config: object) => ({ schemaVersion: 2, mediaType: MANIFEST, config, layers: [{ mediaType: 'x', digest: 42, size: 1 }] }),
      config: goodConfig,
      error: (m: string) =>
        `--build-context base=oci-layout://DIR: ${m}: invalid manifest: layers[0].digest: Invalid input: expected string, received number`,
    },
    {
      name: 'a manifest without layers',
      manifest: (config: object) => ({ schemaVersion: 2, mediaType: MANIFEST, config }),
      config: goodConfig,
      error: (m: string) =>
        `--build-context base=oci-layout://DIR: ${m}: invalid manifest: layers: Invalid input: expected array, received undefined`,
    },
    {
      name: 'a config without rootfs',
      manifest: (config: object) => ({ schemaVersion: 2, mediaType: MANIFEST, config, layers: [] }),
      config: { architecture: 'amd64', os: 'linux' },
      error: (_m: string, c: string) =>
        `--build-context base=oci-layout://DIR: ${c}: invalid image config: rootfs: Invalid input: expected object, received undefined`,
    },
  ])('$name: one line naming the document and the field', async ({ manifest, config, error }) => {
    const { dir, manifestDigest, configDigest } = layoutWith(manifest, config);
    const reading = readOciLayoutImage({ dir }, { ...options(), where: `--build-context base=oci-layout://${dir}` });
    const err = await reading.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message.replace(dir, 'DIR')).toBe(error(manifestDigest, configDigest));
  });

  it('an index.json whose manifests is not a list: one line', async () => {
    const { dir } = layoutWith((config: object) => ({ schemaVersion: 2, config, layers: [] }), goodConfig);
    writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: {} }));
    const err = await readOciLayoutImage({ dir }, { ...options(), where: `--build-context base=oci-layout://${dir}` }).catch((e: unknown) => e);
    expect((err as Error).message.replace(dir, 'DIR')).toBe(
      '--build-context base=oci-layout://DIR: index.json: invalid index: manifests: Invalid input: expected array, received object',
    );
  });

  it('a directory without index.json: not a layout, named by its oci-layout:// form unless the caller names it', async () => {
    const dir = tempDir();
    const err = await readOciLayoutImage({ dir, tag: 'v1' }, options()).catch((e: unknown) => e);
    expect([(err as TsbuildError).code, (err as Error).message]).toEqual(['not-found', `oci-layout://${dir}: not an OCI layout (no index.json)`]);
  });
});
