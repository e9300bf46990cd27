/**
 * Reading image archives into a content store — an OCI layout tar (what `type=oci` and `skopeo copy
 * … oci-archive:` write) or a docker archive (`docker save`, both the current OCI-based form and the
 * legacy one with `<id>/layer.tar`), the media `oci-layout.ts` and `docker-archive.ts` write. The
 * archive is read once, as a stream: blobs go straight into the content store, verified against the
 * digest their path names; the small JSON files are kept to name the images at the end.
 */
import * as z from 'zod';
import { onFirstUse } from '../util/on-first-use.js';
import { parseChecked, parseDocument } from '../image/documents.js';
import { createReadStream } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { detectCompression, layerMediaType } from '../archive/compression.js';
import { readTar } from '../archive/tar.js';
import type { ContentStore } from '../content/store.js';
import { canonicalJson, digestOf, parseDigest, type Digest } from '../digest/digest.js';
import { InvalidArgumentError, UnsupportedError } from '../errors.js';
import { readStoredImage } from './stored-image.js';
import { INDEX_TYPES, MediaType, type Descriptor } from '../image/oci-types.js';
import { selectManifest, type Platform } from '../image/platform.js';
import { formatReference, parseReference } from '../registry/reference.js';

/** Small files of an archive kept in memory (index.json, manifest.json, legacy configs). */
const MAX_METADATA = 4 * 1024 * 1024;
const BLOB = /^(?:\.\/)?blobs\/sha256\/([a-f0-9]{64})$/;

/** One image read from an archive: its manifest digest and the names the archive gives it. */
export interface LoadedImage {
  digest: string;
  names: string[];
}

/**
 * Reads the archive at `file` into `store`; resolves to the images found, with their names. An index
 * of several platforms gives the manifest for `platform`.
 */
export async function readArchive(
  file: string,
  store: ContentStore,
  platform: Platform,
  options: { signal?: AbortSignal } = {},
): Promise<LoadedImage[]> {
  const signal = options.signal ? { signal: options.signal } : {};
  const metadata = new Map<string, Buffer>();
  /** Legacy archives name layers by path: path → digest of the stored file. */
  const byPath = new Map<string, { digest: Digest; size: number; compression: 'none' | 'gzip' | 'zstd' }>();
  for await (const { header, body } of readTar(createReadStream(file, signal), file)) {
    const name = header.name.replace(/^\.\//, '');
    if (header.type !== 'file') {
      body.resume();
      continue;
    }
    const blob = BLOB.exec(name);
    if (blob) {
      const digest = parseDigest(`sha256:${blob[1] ?? ''}`);
      // A blob already stored is skipped, but its bytes must still be read past in the stream.
      if ((await store.info(digest))?.size === header.size) await pipeline(body, new Writable({ write: (_chunk, _enc, done) => done() }));
      else await store.ingest(body, { digest, size: header.size ?? 0 }, { label: `${name} of ${file}`, ...signal });
    } else if (name.endsWith('.tar') || name.endsWith('layer.tar')) {
      const writer = await store.writer({ label: `${name} of ${file}`, ...signal });
      let head: Buffer | undefined;
      const peek = async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
        for await (const chunk of source) {
          head ??= chunk.subarray(0, 8);
          yield chunk;
        }
      };
      try {
        await pipeline(body, peek, writer.stream, signal);
      } catch (err) {
        throw await writer.abort(err);
      }
      const info = await writer.commit();
      const compression = head === undefined ? 'none' : detectCompression(head);
      if (compression !== 'none' && compression !== 'gzip' && compression !== 'zstd')
        throw new UnsupportedError(`layer ${name} is ${compression}-compressed; only gzip, zstd and plain layers load`);
      byPath.set(name, { ...info, compression });
    } else if ((header.size ?? 0) <= MAX_METADATA) {
      const parts: Buffer[] = [];
      for await (const chunk of body) parts.push(chunk as Buffer);
      metadata.set(name, Buffer.concat(parts));
    } else body.resume();
  }
  const loaded: LoadedImage[] = [];
  const name = (digest: string, names: string[]): void => void loaded.push({ digest, names });
  const dockerManifest = metadata.get('manifest.json');
  const entries = dockerManifest ? parseChecked(archiveManifest(), dockerManifest, `${file}: manifest.json`) : [];
  const tagsOf = (entry: ArchiveEntry): string[] => (entry.RepoTags ?? []).map((t) => formatReference(parseReference(t)));
  const indexBytes = metadata.get('index.json');
  if (indexBytes) {
    // An OCI layout (perhaps inside a current docker archive): its manifests as they are, one
    // result per image with the names its entries carry (or, without any, the archive's tags).
    const index = parseDocument('index', indexBytes, `${file}: index.json`);
    const names = new Map<string, string[]>();
    for (const entry of index.manifests) {
      const descriptor = INDEX_TYPES.includes(entry.mediaType) ? await platformManifest(entry, store, platform) : entry;
      const list = names.get(descriptor.digest) ?? [];
      names.set(descriptor.digest, list);
      const annotated = entry.annotations?.['io.containerd.image.name'];
      if (annotated) list.push(formatReference(parseReference(annotated)));
    }
    for (const [digest, list] of names) {
      const config = (await readStoredImage(store, digest)).manifest.config.digest;
      const tags = list.length > 0 ? [] : entries.filter((e) => BLOB.exec(e.Config)?.[1] === config.slice(7)).flatMap(tagsOf);
      name(digest, [...new Set([...list, ...tags])]);
    }
    return loaded;
  }
  if (!dockerManifest) throw new InvalidArgumentError(`${file} is neither an OCI layout nor a docker archive (no index.json or manifest.json)`);
  for (const entry of entries) name(await manifestFor(entry, store, metadata, byPath), tagsOf(entry));
  return loaded;
}

/** A docker archive's `manifest.json`: one entry per image. */
const archiveManifest = onFirstUse(() =>
  z.array(z.looseObject({ Config: z.string(), RepoTags: z.array(z.string()).nullish(), Layers: z.array(z.string()) })),
);
type ArchiveEntry = z.infer<ReturnType<typeof archiveManifest>>[number];

/** An OCI manifest made for a legacy docker archive entry (config and layers by path). */
async function manifestFor(
  entry: ArchiveEntry,
  store: ContentStore,
  metadata: ReadonlyMap<string, Buffer>,
  byPath: ReadonlyMap<string, { digest: Digest; size: number; compression: 'none' | 'gzip' | 'zstd' }>,
): Promise<string> {
  const configBlob = BLOB.exec(entry.Config);
  const configBytes = configBlob ? await store.readBytes(parseDigest(`sha256:${configBlob[1] ?? ''}`)) : metadata.get(entry.Config);
  if (!configBytes) throw new InvalidArgumentError(`the archive has no ${entry.Config}`);
  const configDigest = digestOf(configBytes);
  await store.ingest(Readable.from([configBytes]), { digest: configDigest, size: configBytes.length });
  const config = parseDocument('image config', configBytes, `${entry.Config}`);
  const layers: Descriptor[] = [];
  for (const [i, layerPath] of entry.Layers.entries()) {
    const stored = byPath.get(layerPath);
    if (!stored) throw new InvalidArgumentError(`the archive has no layer ${layerPath}`);
    if (stored.compression === 'none' && config.rootfs.diff_ids[i] !== stored.digest)
      throw new InvalidArgumentError(`layer ${layerPath} does not match diff_id ${config.rootfs.diff_ids[i] ?? '(none)'}`);
    layers.push({
      mediaType: layerMediaType(stored.compression === 'none' ? 'uncompressed' : stored.compression),
      digest: stored.digest,
      size: stored.size,
    });
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: configDigest, size: configBytes.length },
    layers,
  };
  const bytes = Buffer.from(canonicalJson(manifest));
  const digest = digestOf(bytes);
  await store.ingest(Readable.from([bytes]), { digest, size: bytes.length });
  return digest;
}

async function platformManifest(entry: Descriptor, store: ContentStore, platform: Platform): Promise<Descriptor> {
  const index = parseDocument('index', await store.readBytes(parseDigest(entry.digest)), `index ${entry.digest}`);
  const chosen = selectManifest(index.manifests, platform);
  if (!chosen) throw new UnsupportedError(`no manifest for this platform in index ${entry.digest}`);
  return chosen;
}
