/**
 * The registry client: manifests and blobs of a repository, over the endpoints `RegistryHosts`
 * gives (mirrors first for pulls). Everything read is verified: manifests against the digest asked
 * for or announced, blobs through a verifying stream against their descriptor.
 */
import { Readable } from 'node:stream';
import { digestOf, isDigest, type Digest } from '../digest/digest.js';
import { DigestMismatchError, verifyingStream } from '../digest/hashing.js';
import { TsbuildError, UnsupportedError } from '../errors.js';
import { INDEX_TYPES, MANIFEST_TYPES, MediaType } from '../image/oci-types.js';
import { resumableBody } from './blob-download.js';
import type { CredentialSource } from './credentials.js';
import { RegistryHosts, type Endpoint, type NetworkSettings } from './hosts.js';
import { familiarName, repositoryName, type Reference } from './reference.js';
import { isTransientNetworkError } from '../http/network-errors.js';
import { registryError } from './registry-error.js';
import { RegistryTransport, type TransportOptions } from './transport.js';
import type { HttpResponse } from '../http/http-response.js';

/** Manifests larger than this are refused (the spec's recommended limit is 4 MiB). */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** Every manifest media type tsbuild understands, for `Accept`. */
export const MANIFEST_ACCEPT = [MediaType.OciManifest, MediaType.OciIndex, MediaType.DockerManifest, MediaType.DockerManifestList].join(', ');

/** A manifest as fetched: its verified bytes, digest and media type. */
export interface FetchedManifest {
  digest: Digest;
  mediaType: string;
  bytes: Buffer;
}

/** Client settings. */
export interface RegistryClientOptions extends TransportOptions {
  hosts?: RegistryHosts;
  credentials?: CredentialSource;
}

/** Talks to registries; one instance serves any number of hosts and shares tokens between calls. */
export class RegistryClient {
  private readonly hosts: RegistryHosts;
  private readonly transports = new Map<string, RegistryTransport>();

  constructor(private readonly options: RegistryClientOptions = {}) {
    this.hosts = options.hosts ?? new RegistryHosts();
  }

  /** The transport for an endpoint (one per base URL, so tokens are reused). */
  transport(endpoint: Endpoint): RegistryTransport {
    let transport = this.transports.get(endpoint.base);
    if (!transport) {
      transport = new RegistryTransport(endpoint.base, endpoint.host, { ...transportSettings(this.hosts.network), ...this.options });
      this.transports.set(endpoint.base, transport);
    }
    return transport;
  }

  /** The registry's own endpoint (for pushes and login). */
  endpoint(domain: string): Endpoint {
    return this.hosts.endpoint(domain);
  }

  /** Fetches the manifest `reference` (a tag or digest) of `ref`'s repository. */
  async getManifest(ref: Reference, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const about = isDigest(reference) ? `${repositoryName(ref)}@${reference}` : `tag ${reference} of ${repositoryName(ref)}`;
    return this.fromEndpoints(ref, async (transport) => {
      const request = {
        method: 'GET' as const,
        path: `/v2/${ref.path}/manifests/${reference}`,
        scope: { repository: ref.path, actions: ['pull' as const] },
        headers: { Accept: MANIFEST_ACCEPT },
        ...(signal ? { signal } : {}),
      };
      // A manifest is small and read whole; a body cut off is fetched again, like a reset before it.
      let response: HttpResponse;
      let bytes: Buffer;
      for (let attempt = 0; ; attempt++) {
        response = await transport.fetch(request);
        if (!response.ok) {
          const body = await response.text();
          throw registryError(response, body, { method: 'GET', url: transport.url(request.path) }, about, hintFor(response.status, ref));
        }
        try {
          bytes = await readLimited(response, MAX_MANIFEST_BYTES, about);
          break;
        } catch (err) {
          if (err instanceof TsbuildError || signal?.aborted) throw err;
          if (!isTransientNetworkError(err) || attempt >= transport.policy.retries)
            throw transport.networkFailure(request, err, attempt + 1, `the manifest of ${about}`);
          await transport.backoff(attempt, signal);
        }
      }
      const digest = digestOf(bytes);
      if (isDigest(reference) && digest !== reference) throw new DigestMismatchError(reference, digest, `manifest of ${repositoryName(ref)}`);
      const announced = response.headers.get('docker-content-digest');
      if (!isDigest(reference) && announced && isDigest(announced) && announced !== digest) {
        throw new DigestMismatchError(announced, digest, `manifest of ${about}`);
      }
      return { digest, mediaType: manifestMediaType(response.headers.get('content-type'), bytes, about), bytes };
    });
  }

  /**
   * A stream of the blob `digest` that fails unless exactly `size` bytes hashing to `digest` arrive.
   * A connection that breaks mid-body is resumed with a range request (`blob-download.ts`).
   */
  async getBlob(ref: Reference, digest: Digest, size: number | undefined, signal?: AbortSignal): Promise<Readable> {
    const about = `blob ${digest} of ${repositoryName(ref)}`;
    return this.fromEndpoints(ref, async (transport) => {
      const request = {
        method: 'GET' as const,
        path: `/v2/${ref.path}/blobs/${digest}`,
        scope: { repository: ref.path, actions: ['pull' as const] },
        ...(signal ? { signal } : {}),
      };
      const refused = async (response: HttpResponse): Promise<Error> =>
        registryError(response, await response.text(), { method: 'GET', url: transport.url(request.path) }, about);
      const first = await transport.fetch(request);
      if (first.status !== 200 || !first.body) throw await refused(first);
      const body = resumableBody({
        first,
        ...(size === undefined ? {} : { size }),
        reopen: (offset) => transport.fetch(offset > 0 ? { ...request, headers: { Range: `bytes=${offset}-` } } : request),
        retries: transport.policy.retries,
        backoff: (attempt) => transport.backoff(attempt, signal),
        failure: (err, attempts) => transport.networkFailure(request, err, attempts, about),
        refused,
        ...(signal ? { signal } : {}),
      });
      const verify = verifyingStream(digest, size, `blob from ${repositoryName(ref)}`);
      body.on('error', (err) => verify.destroy(err));
      return body.pipe(verify);
    });
  }

  /** Runs `fn` against each pull endpoint in turn (mirrors first) until one succeeds. */
  private async fromEndpoints<T>(ref: Reference, fn: (transport: RegistryTransport) => Promise<T>): Promise<T> {
    const endpoints = this.hosts.pullEndpoints(ref.domain);
    let firstError: unknown;
    for (const endpoint of endpoints) {
      try {
        return await fn(this.transport(endpoint));
      } catch (err) {
        if (err instanceof DigestMismatchError || (err as Error).name === 'AbortError') throw err;
        firstError ??= err;
        if (!endpoint.mirror) throw endpoints.length > 1 ? err : firstError;
      }
    }
    throw firstError;
  }
}

/** The transport options the configured network settings (seconds) give. */
export function transportSettings(network: NetworkSettings): TransportOptions {
  const ms = (seconds: number | undefined): number | undefined => (seconds === undefined ? undefined : Math.round(seconds * 1000));
  const settings: TransportOptions = {};
  const connect = ms(network.connectTimeout);
  const idle = ms(network.idleTimeout);
  const backoff = ms(network.backoff);
  if (connect !== undefined) settings.connectTimeoutMs = connect;
  if (idle !== undefined) settings.idleTimeoutMs = idle;
  if (backoff !== undefined) settings.backoffMs = backoff;
  if (network.retries !== undefined) settings.retries = network.retries;
  return settings;
}

function hintFor(status: number, ref: Reference): string | undefined {
  if (status === 401) return `log in with: tsbuild login ${ref.domain}`;
  if (status === 404) return `check the name and tag: ${familiarName(ref)}`;
  return undefined;
}

/** The media type from `Content-Type`, else from the document's own `mediaType` field. */
function manifestMediaType(header: string | null, bytes: Buffer, about: string): string {
  const fromHeader = header?.split(';')[0]?.trim();
  if (fromHeader && (MANIFEST_TYPES.includes(fromHeader) || INDEX_TYPES.includes(fromHeader))) return fromHeader;
  let doc: { mediaType?: unknown; manifests?: unknown; config?: unknown };
  try {
    doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
  } catch {
    throw new UnsupportedError(`the manifest of ${about} is not JSON`);
  }
  if (typeof doc.mediaType === 'string' && (MANIFEST_TYPES.includes(doc.mediaType) || INDEX_TYPES.includes(doc.mediaType))) return doc.mediaType;
  if (Array.isArray(doc.manifests)) return MediaType.OciIndex;
  if (doc.config !== undefined) return MediaType.OciManifest;
  throw new UnsupportedError(`unsupported manifest type "${fromHeader ?? 'unknown'}" for ${about}`);
}

async function readLimited(response: HttpResponse, max: number, about: string): Promise<Buffer> {
  const length = Number(response.headers.get('content-length'));
  if (Number.isFinite(length) && length > max) throw new UnsupportedError(`the manifest of ${about} is ${length} bytes, over the ${max}-byte limit`);
  const bytes = Buffer.from(await response.arrayBuffer());
  if (bytes.length > max) throw new UnsupportedError(`the manifest of ${about} is over the ${max}-byte limit`);
  return bytes;
}
