/**
 * Cache export and import for CI (`--cache-to`, `--cache-from`): the steps a build used, by cache
 * key, with their layers, written to a directory or a registry; and read back on another machine,
 * where a step found there is restored by unpacking its layer instead of running it.
 *
 * In a registry the cache is one OCI manifest at `ref`: its config (media type
 * `application/vnd.tsbuild.cache.config.v1+json`) maps cache keys to layers, its layers are those
 * layers, so the registry keeps them and a push skips or mounts what it already holds.
 */
import * as z from 'zod';
import { descriptorSchema, digestSchema, parseChecked, parseDocument } from '../image/documents.js';
import { Readable } from 'node:stream';
import { exportCache, loadCache, missingCache, openExportedBlob, type ExportedStep } from '../cache/local-export.js';
import type { CacheSpec } from '../cache/cache-spec.js';
import { canonicalJson, digestOf, parseDigest } from '../digest/digest.js';
import { InvalidArgumentError } from '../errors.js';
import { writingTo } from '../util/destination.js';
import { MediaType, type Descriptor, type Manifest } from '../image/oci-types.js';
import type { ProgressSink } from '../progress/events.js';
import { registryClient, type RegistryOptions } from '../registry/configured-client.js';
import { pushImage } from '../registry/push-image.js';
import { compressLayersForExport, exportContext } from '../export/recompress.js';
import type { StateRoot } from '../state/state-root.js';
import { manifestReference, parseReference, type Reference } from '../registry/reference.js';

export const CACHE_CONFIG_TYPE = 'application/vnd.tsbuild.cache.config.v1+json';
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** An imported step: what it made, and where its layer blob comes from. */
export interface ImportedStep {
  step: ExportedStep;
  open(signal?: AbortSignal): Promise<Readable>;
}

interface CacheConfig {
  version: 1;
  steps: Record<string, ExportedStep>;
}

/**
 * The config a registry cache is read from: checked, since a registry's answer is untrusted. Made
 * on first use, as the document schemas are (image/documents.ts), not by every build.
 */
function makeCacheConfig() {
  return z.looseObject({
    version: z.literal(1),
    steps: z.record(
      z.string(),
      z.looseObject({ layer: z.looseObject({ descriptor: descriptorSchema(), diffID: digestSchema() }), created: z.string() }),
    ),
  });
}
let cacheConfig: ReturnType<typeof makeCacheConfig> | undefined;

export interface TransferOptions extends RegistryOptions {
  root: StateRoot;
  progress?: ProgressSink;
  signal?: AbortSignal;
}

/**
 * The steps a cache holds. A registry cache that cannot be read (the registry unreachable, no
 * cache there yet, something there that is not a cache) or a local one that is not there is, as in
 * BuildKit, a warning and no steps: the build runs without it rather than failing. Only an abort,
 * and a malformed reference (the user's flag), stop the build. A step whose layer turns out to be
 * missing when it is restored is a miss (`builder/step-ops.ts`).
 */
export async function importCache(spec: CacheSpec, options: TransferOptions): Promise<Map<string, ImportedStep>> {
  if (spec.type === 'local') {
    const imported = new Map<string, ImportedStep>();
    // BuildKit's words (`local cache import at DIR not found …`): the first build of a CI cache has none yet.
    const missing = await missingCache(spec.dir);
    if (missing !== undefined) {
      options.progress?.emit({ type: 'message', text: `warning: local cache import at ${spec.dir} not found (${missing}); building without it` });
      return imported;
    }
    const steps = await loadCache(spec.dir, options.root.warn);
    if (steps.size === 0) options.progress?.emit({ type: 'message', text: `no build cache in ${spec.dir} yet` });
    for (const [key, step] of steps) imported.set(key, { step, open: () => openExportedBlob(spec.dir, step.layer.descriptor.digest) });
    return imported;
  }
  const ref = parseReference(spec.ref);
  try {
    return await importFromRegistry(spec.ref, ref, options);
  } catch (err) {
    if (options.signal?.aborted) throw err;
    const cause = err instanceof Error ? err.message : String(err);
    options.progress?.emit({ type: 'message', text: `warning: cannot import the build cache from ${spec.ref}: ${cause}; building without it` });
    return new Map();
  }
}

async function importFromRegistry(name: string, ref: Reference, options: TransferOptions): Promise<Map<string, ImportedStep>> {
  const client = await registryClient(options);
  const fetched = await client.getManifest(ref, manifestReference(ref), options.signal);
  const manifest = parseDocument('manifest', fetched.bytes, `the manifest at ${name}`);
  if (manifest.config.mediaType !== CACHE_CONFIG_TYPE)
    throw new InvalidArgumentError(`${name} is not a tsbuild build cache (config type ${manifest.config.mediaType})`);
  // The step list is read whole: refuse one a registry claims is huge rather than buffer it.
  if (manifest.config.size > MAX_CONFIG_BYTES)
    throw new InvalidArgumentError(`the build cache config at ${name} is ${manifest.config.size} bytes, over the ${MAX_CONFIG_BYTES}-byte limit`);
  const chunks: Buffer[] = [];
  for await (const chunk of await client.getBlob(ref, parseDigest(manifest.config.digest), manifest.config.size, options.signal))
    chunks.push(chunk as Buffer);
  cacheConfig ??= makeCacheConfig();
  const config = parseChecked<typeof cacheConfig, CacheConfig>(cacheConfig, Buffer.concat(chunks), `the build cache config at ${name}`);
  const imported = new Map<string, ImportedStep>();
  for (const [key, step] of Object.entries(config.steps ?? {})) {
    const layer = step.layer.descriptor;
    imported.set(key, { step, open: (signal) => client.getBlob(ref, parseDigest(layer.digest), layer.size, signal) });
  }
  return imported;
}

/**
 * Writes `steps` to the cache `spec` names, their layers gzipped (a build keeps its own
 * uncompressed; a cache travels, as BuildKit's does, compressed).
 */
export async function exportCacheTo(spec: CacheSpec, given: ReadonlyMap<string, ExportedStep>, options: TransferOptions): Promise<void> {
  const steps = await withCompressedLayers(given, options);
  if (spec.type === 'local') {
    await writingTo('the cache', spec.dir, () => exportCache(spec.dir, steps, options.root.store, options.root.warn));
    return;
  }
  const configBytes = Buffer.from(canonicalJson({ version: 1, steps: Object.fromEntries(steps) } satisfies CacheConfig));
  const configDigest = digestOf(configBytes);
  await options.root.store.ingest(Readable.from([configBytes]), { digest: configDigest, size: configBytes.length });
  const layers = new Map<string, Descriptor>();
  for (const step of steps.values()) layers.set(step.layer.descriptor.digest, step.layer.descriptor);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: CACHE_CONFIG_TYPE, digest: configDigest, size: configBytes.length },
    layers: [...layers.values()],
  };
  const bytes = Buffer.from(canonicalJson(manifest));
  const digest = digestOf(bytes);
  await options.root.store.ingest(Readable.from([bytes]), { digest, size: bytes.length });
  const where = { store: options.root.store, client: await registryClient(options), sources: options.root.blobSources };
  await pushImage({ descriptor: { mediaType: MediaType.OciManifest, digest, size: bytes.length }, manifest }, spec.ref, where, {
    ...(options.progress ? { progress: options.progress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

async function withCompressedLayers(steps: ReadonlyMap<string, ExportedStep>, options: TransferOptions): Promise<Map<string, ExportedStep>> {
  const entries = [...steps];
  const items = entries.map(([, step]) => ({ layer: step.layer.descriptor, diffID: step.layer.diffID }));
  const layers = await compressLayersForExport(items, exportContext(options.root, options.signal));
  return new Map(entries.map(([key, step], i) => [key, { ...step, layer: { ...step.layer, descriptor: layers[i] ?? step.layer.descriptor } }]));
}
