/**
 * An image whose layers an output wants in another compression (`compression=zstd|gzip|
 * uncompressed`, as BuildKit's exporters take it):
 * - the layers the build made are converted; layers that came with a base image keep theirs
 *   unless `force-compression=true`;
 * - a conversion decompresses the stored blob and compresses it again into the content store,
 *   checking that the tar inside still has the config's diffID; so the config stays as it is and
 *   only the manifest differs;
 * - conversions are remembered in `<root>/recompressed.json`, so exporting again is a lookup (a
 *   damaged record is set aside with a warning, and the layers are converted again).
 * A build keeps its layers uncompressed in the store (`diff/layer-writer.ts`); `compressForExport`
 * gzips them (only them) for whatever leaves the store — a push, an OCI or docker archive — with
 * the same bytes the build would have written, so exported digests do not depend on when.
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { layerCompression, layerCompressor, layerDecompressor, layerMediaType, type LayerCompression } from '../archive/compression.js';
import { readFailure, type ContentStore } from '../content/store.js';
import { canonicalJson, digestOf, isDigest, parseDigest } from '../digest/digest.js';
import { DigestMismatchError, HashingStream } from '../digest/hashing.js';
import { MediaType, type Descriptor, type Manifest } from '../image/oci-types.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { imageVariant, type HoldBlobs, type StoredImage } from './stored-image.js';
import { ignoreWarnings, isObject, readJsonOrSetAside, type Warn } from '../util/set-aside.js';

/** What an output asks for. */
export interface CompressionChoice {
  compression: LayerCompression;
  /** The codec's level; its default when unset. */
  level?: number;
  /** Convert base-image layers too. */
  force: boolean;
  /** Convert only the layers now in this compression. */
  only?: LayerCompression;
}

export interface RecompressContext {
  root: string;
  store: ContentStore;
  /** Digests of the layers that came with base images (kept unless `force`). */
  baseLayers: ReadonlySet<string>;
  /** Told when the conversion record is damaged and set aside. */
  warn?: Warn;
  /** Leases a conversion made earlier before it is looked for, so a concurrent prune keeps it. */
  hold?: HoldBlobs;
  signal?: AbortSignal;
}

type Conversions = Record<string, { digest: string; size: number }>;

function isConversions(value: unknown): value is Conversions {
  return (
    isObject(value) &&
    Object.values(value).every((c) => isObject(c) && typeof c.digest === 'string' && isDigest(c.digest) && typeof c.size === 'number')
  );
}

/** `image` with its layers in the chosen compression; `image` itself when none needs converting. */
export async function recompressImage(image: StoredImage, choice: CompressionChoice, ctx: RecompressContext): Promise<StoredImage> {
  const keep = (layer: Descriptor): boolean => {
    const from = layerCompression(layer.mediaType);
    if (from === choice.compression || (choice.only !== undefined && from !== choice.only)) return true;
    return ctx.baseLayers.has(layer.digest) && !choice.force;
  };
  const items = image.manifest.layers.map((layer, i) => ({ layer, diffID: image.config.rootfs.diff_ids[i] ?? '' }));
  const layers = await convertLayers(items, choice, ctx, keep);
  if (layers.every((l, i) => l === image.manifest.layers[i])) return image;
  // Only OCI has zstd and plain-tar layer types: the manifest becomes an OCI one.
  const manifest: Manifest = {
    ...image.manifest,
    mediaType: MediaType.OciManifest,
    config: { ...image.manifest.config, mediaType: MediaType.OciConfig },
    layers,
  };
  const bytes = Buffer.from(canonicalJson(manifest));
  const digest = digestOf(bytes);
  // An earlier export may have stored this manifest already: leased first, it stays.
  await ctx.hold?.([digest]);
  await ctx.store.ingest(Readable.from([bytes]), { digest, size: bytes.length });
  return { descriptor: { mediaType: MediaType.OciManifest, digest, size: bytes.length }, manifest, config: image.config };
}

/**
 * Layers (with their diffIDs) gzipped where they are uncompressed, the others as they are: what
 * leaves the store besides an image (an exported build cache).
 */
export function compressLayersForExport(items: ReadonlyArray<{ layer: Descriptor; diffID: string }>, ctx: RecompressContext): Promise<Descriptor[]> {
  return convertLayers(items, { compression: 'gzip', force: true }, ctx, (layer) => layerCompression(layer.mediaType) !== 'uncompressed');
}

/** Each layer converted unless `keep` says otherwise; conversions looked up in, and added to, the record. */
async function convertLayers(
  items: ReadonlyArray<{ layer: Descriptor; diffID: string }>,
  choice: CompressionChoice,
  ctx: RecompressContext,
  keep: (layer: Descriptor) => boolean,
): Promise<Descriptor[]> {
  if (items.every(({ layer }) => keep(layer))) return items.map(({ layer }) => layer);
  const file = path.join(ctx.root, 'recompressed.json');
  const known =
    (await readJsonOrSetAside(file, isConversions, {
      what: 'the conversion record',
      consequence: 'layers are converted again',
      warn: ctx.warn ?? ignoreWarnings,
    })) ?? {};
  let changed = false;
  const layers: Descriptor[] = [];
  for (const { layer, diffID } of items) {
    if (keep(layer)) {
      layers.push(layer);
      continue;
    }
    const key = `${layer.digest} ${choice.compression} ${choice.level ?? 'default'}`;
    let converted = known[key];
    if (converted) await ctx.hold?.([converted.digest]);
    if (!converted || !(await ctx.store.info(parseDigest(converted.digest)))) {
      converted = await convertLayer(layer, diffID, choice, ctx);
      known[key] = converted;
      changed = true;
    }
    layers.push({ ...layer, mediaType: layerMediaType(choice.compression), ...converted });
  }
  if (changed) await writeFileAtomic(file, JSON.stringify(known));
  return layers;
}

async function convertLayer(
  layer: Descriptor,
  diffID: string,
  choice: CompressionChoice,
  ctx: RecompressContext,
): Promise<{ digest: string; size: number }> {
  const tar = new HashingStream();
  const writer = await ctx.store.writer({
    label: `layer ${layer.digest} converted to ${choice.compression}`,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  try {
    await pipeline(
      await ctx.store.reader(parseDigest(layer.digest), ctx.signal ? { signal: ctx.signal } : {}),
      layerDecompressor(layerCompression(layer.mediaType)),
      tar,
      layerCompressor(choice.compression, choice.level),
      writer.stream,
      ctx.signal ? { signal: ctx.signal } : {},
    );
    if (tar.digest.digest !== diffID) throw new DigestMismatchError(diffID, tar.digest.digest, `layer ${layer.digest} (diffID)`);
    const { digest, size } = await writer.commit();
    return { digest, size };
  } catch (err) {
    throw await writer.abort(await readFailure(ctx.store, parseDigest(layer.digest), err));
  }
}

/**
 * `image` with its uncompressed layers gzipped (the others as they are), in the manifest media
 * types it had: what a push or an archive of a stored image sends. `image` itself when all its
 * layers are compressed already.
 */
export async function compressForExport(image: StoredImage, ctx: RecompressContext): Promise<StoredImage> {
  const compressed = await recompressImage(image, { compression: 'gzip', force: true, only: 'uncompressed' }, ctx);
  if (compressed === image) return image;
  const oci = (image.manifest.mediaType ?? MediaType.OciManifest) === MediaType.OciManifest;
  return imageVariant(ctx.store, compressed, { ociMediaTypes: oci, annotations: {}, ...(ctx.hold ? { hold: ctx.hold } : {}) });
}

/** What `compressForExport` needs, for a state root (no base-layer exceptions: only uncompressed layers change). */
export function exportContext(root: { path: string; store: ContentStore; warn: Warn }, signal?: AbortSignal, hold?: HoldBlobs): RecompressContext {
  return { root: root.path, store: root.store, baseLayers: new Set(), warn: root.warn, ...(signal ? { signal } : {}), ...(hold ? { hold } : {}) };
}
