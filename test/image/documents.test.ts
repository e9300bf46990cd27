/**
 * Image documents from outside are checked at the door: one line naming the document and the
 * first wrong field, never a TypeError deeper in; unknown fields and Docker's nulls pass.
 */
import { describe, expect, it } from 'vitest';
import { TsbuildError } from '../../src/errors.js';
import { parseDocument, type DocumentKind } from '../../src/image/documents.js';

const D = `sha256:${'a'.repeat(64)}`;
const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D, size: 10 };
const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { ...layer, mediaType: 'c' }, layers: [layer] };
const config = { architecture: 'amd64', os: 'linux', config: { Env: ['A=1'] }, rootfs: { type: 'layers', diff_ids: [D] } };

function failure(kind: DocumentKind, doc: unknown): string {
  try {
    parseDocument(kind, typeof doc === 'string' ? doc : JSON.stringify(doc), 'the x of r/a:1');
    return 'accepted';
  } catch (err) {
    expect(err).toBeInstanceOf(TsbuildError);
    return `${(err as TsbuildError).code}: ${(err as TsbuildError).message}`;
  }
}

describe('parseDocument', () => {
  it.each([
    ['manifest', manifest],
    ['manifest', { ...manifest, extra: { anything: 1 }, annotations: { a: 'b' } }],
    ['index', { schemaVersion: 2, manifests: [{ ...layer, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }] }],
    ['image config', config],
    // Docker's legacy builder writes nulls; a config without `config` at all exists too.
    ['image config', { ...config, config: { Cmd: null, Entrypoint: null, Volumes: null, Labels: null, OnBuild: null, Env: null } }],
    ['image config', { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }],
  ] as Array<[DocumentKind, unknown]>)('accepts a valid %s (%#)', (kind, doc) => expect(failure(kind, doc)).toBe('accepted'));

  it.each([
    ['manifest', 'not json', 'invalid-argument: the x of r/a:1: invalid manifest: not JSON'],
    ['manifest', [], 'invalid-argument: the x of r/a:1: invalid manifest: (top level): Invalid input: expected object, received array'],
    ['manifest', { ...manifest, schemaVersion: 1 }, 'invalid-argument: the x of r/a:1: invalid manifest: schemaVersion: Invalid input: expected 2'],
    [
      'manifest',
      { ...manifest, layers: [{ ...layer, size: '10' }] },
      'invalid-argument: the x of r/a:1: invalid manifest: layers[0].size: Invalid input: expected number, received string',
    ],
    [
      'manifest',
      { ...manifest, layers: [{ ...layer, size: -1 }] },
      'invalid-argument: the x of r/a:1: invalid manifest: layers[0].size: Too small: expected number to be >=0',
    ],
    [
      'manifest',
      { ...manifest, layers: [{ ...layer, digest: '../../etc/passwd' }] },
      'invalid-argument: the x of r/a:1: invalid manifest: layers[0].digest: not a digest',
    ],
    [
      'manifest',
      { ...manifest, config: undefined },
      'invalid-argument: the x of r/a:1: invalid manifest: config: Invalid input: expected object, received undefined',
    ],
    [
      'index',
      { schemaVersion: 2, manifests: {} },
      'invalid-argument: the x of r/a:1: invalid index: manifests: Invalid input: expected array, received object',
    ],
    [
      'index',
      { schemaVersion: 2, manifests: [{ ...layer, platform: { os: 'linux' } }] },
      'invalid-argument: the x of r/a:1: invalid index: manifests[0].platform.architecture: Invalid input: expected string, received undefined',
    ],
    [
      'image config',
      { ...config, rootfs: { type: 'layers', diff_ids: 'x' } },
      'invalid-argument: the x of r/a:1: invalid image config: rootfs.diff_ids: Invalid input: expected array, received string',
    ],
    [
      'image config',
      { ...config, config: { Env: 'A=1' } },
      'invalid-argument: the x of r/a:1: invalid image config: config.Env: Invalid input: expected array, received string',
    ],
    [
      'image config',
      { ...config, os: 7 },
      'invalid-argument: the x of r/a:1: invalid image config: os: Invalid input: expected string, received number',
    ],
  ] as Array<[DocumentKind, unknown, string]>)('refuses a %s: %j', (kind, doc, message) => expect(failure(kind, doc)).toBe(message));
});
