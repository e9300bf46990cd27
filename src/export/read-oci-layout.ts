/**
 * Reading one image out of an OCI layout directory (image-spec `image-layout.md`: what
 * `-o type=oci,tar=false`, `oci-layout.ts`, `skopeo copy … oci:DIR` and umoci write), the
 * directory counterpart of `read-archive.ts`. The entry is chosen by digest, else by its
 * `org.opencontainers.image.ref.name` tag (default `latest`; a layout holding one unnamed image
 * needs none); an index gives the platform's manifest. Every blob is copied into the content store
 * verified against its digest and size, so a layout that lies about its content fails in one line;
 * paths are made from checked digests only. `--build-context NAME=oci-layout://DIR` is the caller.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ContentStore } from '../content/store.js';
import { digestHex, parseDigest } from '../digest/digest.js';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { parseDocument } from '../image/documents.js';
import { INDEX_TYPES, type Descriptor, type ImageConfig } from '../image/oci-types.js';
import { formatPlatform, selectManifest, type Platform } from '../image/platform.js';
import { isAbsent } from '../util/absent.js';

const REF_NAME = 'org.opencontainers.image.ref.name';
/** index.json, manifests and configs are small; anything bigger is not one. */
const MAX_JSON = 4 * 1024 * 1024;

/** An image read from a layout: its manifest's descriptor, its config and its layers (all now in the store). */
export interface LayoutImage {
  manifest: Descriptor;
  config: ImageConfig;
  layers: Descriptor[];
  configDigest: string;
}

/** Which image of which layout: a digest, else a tag (default `latest`). */
export interface LayoutEntry {
  dir: string;
  tag?: string;
  digest?: string;
}

export interface ReadLayoutOptions {
  store: ContentStore;
  /** The manifest an index entry resolves to. */
  platform: Platform;
  /** How errors name the layout (the option the user gave); default `oci-layout://DIR`. */
  where?: string;
  signal?: AbortSignal;
}

/** Reads the image `layout` names into `deps.store`. */
export async function readOciLayoutImage(layout: LayoutEntry, deps: ReadLayoutOptions): Promise<LayoutImage> {
  const where = deps.where ?? `oci-layout://${layout.dir}`;
  // Every document is checked at the door (image/documents.ts): a layout is as hostile as a registry.
  const read = async (descriptor: Descriptor | undefined, file?: string): Promise<Buffer> =>
    descriptor ? ingestSmall(layout.dir, descriptor, deps, where) : readJsonFile(path.join(layout.dir, file ?? ''), where);
  const index = parseDocument('index', await read(undefined, 'index.json'), `${where}: index.json`);
  const entry = pickEntry(index.manifests, layout, where);
  let descriptor: Descriptor = entry;
  if (INDEX_TYPES.includes(entry.mediaType)) {
    const nested = parseDocument('index', await read(entry), `${where}: ${entry.digest}`);
    const chosen = selectManifest(nested.manifests, deps.platform);
    if (!chosen) throw new NotFoundError(`${where}: no image for ${formatPlatform(deps.platform)}`);
    descriptor = chosen;
  }
  const manifest = parseDocument('manifest', await read(descriptor), `${where}: ${descriptor.digest}`);
  const config = parseDocument('image config', await read(manifest.config), `${where}: ${manifest.config.digest}`);
  for (const layer of manifest.layers) await ingest(layout.dir, layer, deps, where);
  return {
    manifest: { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size },
    config,
    layers: manifest.layers,
    configDigest: manifest.config.digest,
  };
}

function pickEntry(manifests: readonly Descriptor[], layout: { tag?: string; digest?: string }, where: string): Descriptor {
  if (layout.digest) {
    const found = manifests.find((m) => m.digest === layout.digest);
    if (!found) throw new NotFoundError(`${where}: no image ${layout.digest} in index.json`);
    return found;
  }
  const tag = layout.tag ?? 'latest';
  const named = manifests.find((m) => {
    const ref = m.annotations?.[REF_NAME];
    return ref === tag || (ref !== undefined && ref.endsWith(`:${tag}`));
  });
  if (named) return named;
  if (layout.tag === undefined && manifests.length === 1 && manifests[0]?.annotations?.[REF_NAME] === undefined) return manifests[0] as Descriptor;
  throw new NotFoundError(`${where}: no image tagged ${tag} in index.json`, { hint: 'name the tag (:TAG) or the digest (@sha256:…)' });
}

/** The blob of `descriptor`, copied into the store (checked), and read back. */
async function ingestSmall(dir: string, descriptor: Descriptor, deps: { store: ContentStore; signal?: AbortSignal }, where: string): Promise<Buffer> {
  if (descriptor.size > MAX_JSON) throw new InvalidArgumentError(`${where}: ${descriptor.digest} is too large (${descriptor.size} bytes)`);
  await ingest(dir, descriptor, deps, where);
  return deps.store.readBytes(parseDigest(descriptor.digest));
}

async function ingest(dir: string, descriptor: Descriptor, deps: { store: ContentStore; signal?: AbortSignal }, where: string): Promise<void> {
  const digest = parseDigest(descriptor.digest);
  if ((await deps.store.info(digest))?.size === descriptor.size) return;
  const file = path.join(dir, 'blobs', 'sha256', digestHex(digest));
  const source = createReadStream(file);
  await deps.store.ingest(source, { digest, size: descriptor.size }, deps.signal ? { signal: deps.signal } : {}).catch((err: unknown) => {
    if (isAbsent(err)) throw new NotFoundError(`${where}: blob ${descriptor.digest} is missing`);
    throw err;
  });
}

async function readJsonFile(file: string, where: string): Promise<Buffer> {
  try {
    const text = await readFile(file);
    if (text.length > MAX_JSON) throw new InvalidArgumentError(`${where}: ${path.basename(file)} is too large`);
    return text;
  } catch (err) {
    if (isAbsent(err)) throw new NotFoundError(`${where}: not an OCI layout (no ${path.basename(file)})`);
    throw err;
  }
}
