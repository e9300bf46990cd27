/**
 * `pull`: copy an image from a registry into the local content store and name it in the image
 * index. Layers download in parallel (bounded), stream straight into the store through verifying
 * streams, and are skipped when already stored, so a second pull transfers no layer.
 */
import { Readable } from 'node:stream';
import PQueue from 'p-queue';
import { LocalContentStore } from './content/local-store.js';
import { describeReclaimed, reclaimedCount, reclaimRoot } from './maintenance.js';
import { parseDigest, type Digest } from './digest/digest.js';
import { ImageIndex, type ImageRecord } from './images/image-index.js';
import type { Descriptor } from './image/oci-types.js';
import { formatPlatform, parsePlatform } from './image/platform.js';
import { counted } from './progress/counted.js';
import { nullSink, warningsTo, type ProgressSink } from './progress/events.js';
import { BlobSources } from './images/blob-sources.js';
import { RegistryClient } from './registry/client.js';
import { DockerCredentials } from './registry/credentials.js';
import type { RegistryHostsConfig } from './registry/hosts.js';
import { formatReference, parseReference } from './registry/reference.js';
import { resolveImage, type ResolvedImage } from './registry/remote-image.js';
import { hostPlatform, registryHosts, stateRoot } from './settings.js';
import { Lease } from './util/lease.js';
import { prepareStateRoot } from './util/make-dirs.js';

/** What to pull and where from. */
export interface PullOptions {
  /** State root; see `stateRoot()`. */
  root?: string;
  /** `linux/arm64`; the host's when absent. */
  platform?: string;
  /** Extra mirrors and insecure registries (on top of the registries config file). */
  registries?: RegistryHostsConfig;
  /** The registries config file to read instead of the default. */
  registriesConfig?: string;
  /** Docker config directory for credentials (default `$DOCKER_CONFIG` or `~/.docker`). */
  dockerConfig?: string;
  /** Parallel layer downloads (default 3). */
  jobs?: number;
  signal?: AbortSignal;
  progress?: ProgressSink;
}

/** What a pull did. */
export interface PullResult {
  name: string;
  /** The platform manifest's digest. */
  digest: Digest;
  /** The config digest (the image id). */
  config: Digest;
  platform: string;
  layers: number;
  /** Layers fetched now; the rest were already stored. */
  downloaded: number;
  downloadedBytes: number;
}

/** A registry client configured from the options' hosts and credentials. */
export async function clientFor(options: Pick<PullOptions, 'registries' | 'registriesConfig' | 'dockerConfig'>): Promise<RegistryClient> {
  const hosts = await registryHosts(options.registries ?? {}, ...(options.registriesConfig ? [options.registriesConfig] : []));
  return new RegistryClient({ hosts, credentials: new DockerCredentials(options.dockerConfig) });
}

/** Resolves `reference` to its manifest digest, config and layers, without storing anything. */
export async function resolveRemoteImage(reference: string, options: PullOptions = {}): Promise<ResolvedImage> {
  const ref = parseReference(reference);
  const platform = options.platform ? parsePlatform(options.platform) : hostPlatform();
  return resolveImage(await clientFor(options), ref, platform, options.signal);
}

/** Pulls `reference` into the store under the state root. */
export async function pull(reference: string, options: PullOptions = {}): Promise<PullResult> {
  const root = stateRoot(options.root);
  await prepareStateRoot(root);
  // Ingest files and leases a killed pull (or build) left go first.
  const reclaimed = await reclaimRoot(root, { warn: warningsTo(options.progress ?? nullSink) });
  if (reclaimedCount(reclaimed) > 0) options.progress?.emit({ type: 'message', text: describeReclaimed(reclaimed) });
  // What the pull finds already stored stays out of a concurrent prune's reach until it is named.
  const lease = await Lease.take(root);
  try {
    return await pullLeased(reference, options, root, lease);
  } finally {
    await lease.close();
  }
}

async function pullLeased(reference: string, options: PullOptions, root: string, lease: Lease): Promise<PullResult> {
  const progress = options.progress ?? nullSink;
  const ref = parseReference(reference);
  const name = formatReference(ref);
  const platform = options.platform ? parsePlatform(options.platform) : hostPlatform();
  const client = await clientFor(options);
  const store = new LocalContentStore(root);
  const local = async (digest: Digest): Promise<Buffer | undefined> => ((await store.info(digest)) ? store.readBytes(digest) : undefined);
  const image = await resolveImage(client, ref, platform, options.signal, local);
  progress.emit({ type: 'message', text: `${name}: resolved to ${image.manifest.digest} (${formatPlatform(image.platform)})` });
  await lease.add({
    blobs: [
      ...(image.index ? [image.index.digest] : []),
      image.manifest.digest,
      image.config.digest,
      ...image.parsedManifest.layers.map((l) => l.digest),
    ],
  });

  // The index, manifest and config are stored while the layers download: the image record written
  // last is what makes any of them part of an image.
  const small = [image.index, image.manifest, { digest: image.config.digest, bytes: image.config.bytes }].flatMap((b) => (b ? [b] : []));
  const storingSmall = Promise.all(
    small.map((blob) =>
      store.ingest(
        Readable.from([blob.bytes]),
        { digest: blob.digest, size: blob.bytes.length },
        { label: `blob ${blob.digest} of ${name}`, ...withSignal(options.signal) },
      ),
    ),
  );

  const queue = new PQueue({ concurrency: options.jobs ?? 3 });
  let downloaded = 0;
  let downloadedBytes = 0;
  await Promise.all([
    storingSmall,
    ...image.parsedManifest.layers.map((layer) =>
      queue.add(async () => {
        const fetched = await fetchLayer(layer);
        if (fetched > 0) {
          downloaded++;
          downloadedBytes += fetched;
        }
      }),
    ),
  ]).catch(async (err: unknown) => {
    await storingSmall.catch(() => undefined); // settled before the layer error is reported
    throw err;
  });

  async function fetchLayer(layer: Descriptor): Promise<number> {
    const digest = parseDigest(layer.digest);
    const label = digest.slice(7, 19);
    const existing = await store.info(digest);
    if (existing && existing.size === layer.size) {
      progress.emit({ type: 'bytes', id: digest, label, current: layer.size, total: layer.size, done: true, cached: true });
      return 0;
    }
    // The client resumes a download whose connection breaks (a range request from where it
    // stopped); what it gives up on, or content that does not match, fails the pull.
    const body = await client.getBlob(ref, digest, layer.size, options.signal);
    await store.ingest(
      counted(body, (current) => progress.emit({ type: 'bytes', id: digest, label, current, total: layer.size })),
      { digest, size: layer.size },
      { label: `layer ${digest} of ${name}`, ...withSignal(options.signal) },
    );
    progress.emit({ type: 'bytes', id: digest, label, current: layer.size, total: layer.size, done: true });
    return layer.size;
  }

  const record: ImageRecord = {
    name,
    target: descriptorOf(image.index ?? image.manifest),
    manifest: descriptorOf(image.manifest),
    config: image.config.digest,
    ...(image.config.parsed.created ? { created: image.config.parsed.created } : {}),
    platform: formatPlatform(image.platform),
    size: image.parsedManifest.layers.reduce((sum, l) => sum + l.size, 0),
    updated: new Date().toISOString(),
  };
  await new ImageIndex(root, warningsTo(progress)).put(record);
  await new BlobSources(root, warningsTo(progress)).add(
    [image.config.digest, ...image.parsedManifest.layers.map((l) => l.digest)],
    ref.domain,
    ref.path,
  );
  return {
    name,
    digest: image.manifest.digest,
    config: image.config.digest,
    platform: record.platform,
    layers: image.parsedManifest.layers.length,
    downloaded,
    downloadedBytes,
  };
}

function descriptorOf(m: { digest: Digest; mediaType: string; bytes: Buffer }): Descriptor {
  return { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
}

function withSignal(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}
