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
import type { StoredImage } from './stored-image.js';
import { ignoreWarnings, isObject, readJsonOrSetAside, type Warn } from '../util/set-aside.js';

/** What an output asks for. */
export interface CompressionChoice {
  compression: LayerCompression;
  /** The codec's level; its default when unset. */
  level?: number;
  /** Convert base-image layers too. */
  force: boolean;
}

export interface RecompressContext {
  root: string;
  store: ContentStore;
  /** Digests of the layers that came with base images (kept unless `force`). */
  baseLayers: ReadonlySet<string>;
  /** Told when the conversion record is damaged and set aside. */
  warn?: Warn;
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
  const file = path.join(ctx.root, 'recompressed.json');
  const known =
    (await readJsonOrSetAside(file, isConversions, {
      what: 'the conversion record',
      consequence: 'layers are converted again',
      warn: ctx.warn ?? ignoreWarnings,
    })) ?? {};
  let changed = false;
  const layers: Descriptor[] = [];
  for (const [i, layer] of image.manifest.layers.entries()) {
    const from = layerCompression(layer.mediaType);
    if (from === choice.compression || (ctx.baseLayers.has(layer.digest) && !choice.force)) {
      layers.push(layer);
      continue;
    }
    const key = `${layer.digest} ${choice.compression} ${choice.level ?? 'default'}`;
    let converted = known[key];
    if (!converted || !(await ctx.store.info(parseDigest(converted.digest)))) {
      converted = await convertLayer(layer, image.config.rootfs.diff_ids[i] ?? '', choice, ctx);
      known[key] = converted;
      changed = true;
    }
    layers.push({ ...layer, mediaType: layerMediaType(choice.compression), ...converted });
  }
  if (layers.every((l, i) => l === image.manifest.layers[i])) return image;
  if (changed) await writeFileAtomic(file, JSON.stringify(known));
  // Only OCI has zstd and plain-tar layer types: the manifest becomes an OCI one.
  const manifest: Manifest = {
    ...image.manifest,
    mediaType: MediaType.OciManifest,
    config: { ...image.manifest.config, mediaType: MediaType.OciConfig },
    layers,
  };
  const bytes = Buffer.from(canonicalJson(manifest));
  const digest = digestOf(bytes);
  await ctx.store.ingest(Readable.from([bytes]), { digest, size: bytes.length });
  return { descriptor: { mediaType: MediaType.OciManifest, digest, size: bytes.length }, manifest, config: image.config };
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
