/**
 * Writing to one repository of a registry (distribution spec "push"): blob existence checks
 * (HEAD), cross-repository mounts, uploads and manifests. An upload is monolithic (POST, then one
 * PUT with the whole blob streamed) unless the registry refuses that or the caller asks for chunks;
 * then it is chunked: PATCHes of `chunkSize` bytes with `Content-Range`, and a closing PUT.
 */
import type { Readable } from 'node:stream';
import { digestOf, type Digest } from '../digest/digest.js';
import { DigestMismatchError } from '../digest/hashing.js';
import { InternalError, UnavailableError } from '../errors.js';
import type { Descriptor } from '../image/oci-types.js';
import type { RegistryClient } from './client.js';
import { repositoryName, type Reference } from './reference.js';
import { registryError } from './registry-error.js';
import type { RegistryRequest, RegistryTransport } from './transport.js';
import type { HttpResponse } from '../http/http-response.js';

/** How a blob got into the repository. */
export type BlobOutcome = 'exists' | 'mounted' | 'uploaded';

export interface UploadOptions {
  /** Upload in PATCH chunks of this size (default: monolithic, chunked only when refused). */
  chunkSize?: number;
  signal?: AbortSignal;
}

/** Statuses with which a registry refuses a monolithic PUT (it then wants chunks). */
const REFUSES_MONOLITHIC = new Set([405, 413, 501]);
const DEFAULT_CHUNK = 16 * 1024 * 1024;

export class RepositoryWriter {
  private readonly transport: RegistryTransport;
  private readonly name: string;

  constructor(
    client: RegistryClient,
    private readonly ref: Reference,
  ) {
    this.transport = client.transport(client.endpoint(ref.domain));
    this.name = repositoryName(ref);
  }

  /** Whether the repository already has the blob. */
  async hasBlob(descriptor: Descriptor, signal?: AbortSignal): Promise<boolean> {
    const path = `/v2/${this.ref.path}/blobs/${descriptor.digest}`;
    const response = await this.send({ method: 'HEAD', path, ...this.push(), ...opt(signal) });
    if (response.status === 404) return false;
    if (response.ok) return true;
    throw this.error(response, '', 'HEAD', path, `blob ${descriptor.digest} of ${this.name}`);
  }

  /**
   * Puts the blob into the repository: nothing when it is there, a mount from `mountFrom` (another
   * repository path of the same registry) when possible, else an upload of what `open` streams.
   */
  async putBlob(
    descriptor: Descriptor,
    open: () => Promise<Readable>,
    mountFrom: readonly string[],
    options: UploadOptions = {},
  ): Promise<BlobOutcome> {
    if (await this.hasBlob(descriptor, options.signal)) return 'exists';
    let location: string | undefined;
    for (const from of mountFrom) {
      if (from === this.ref.path) continue;
      const path = `/v2/${this.ref.path}/blobs/uploads/?mount=${encodeURIComponent(descriptor.digest)}&from=${encodeURIComponent(from)}`;
      const response = await this.send({
        method: 'POST',
        path,
        scope: { repository: this.ref.path, actions: ['pull', 'push'], also: [{ repository: from, actions: ['pull'] }] },
        ...opt(options.signal),
      });
      if (response.status === 201) return 'mounted';
      if (response.status !== 202)
        throw this.error(response, await response.text(), 'POST', path, `a mount of ${descriptor.digest} into ${this.name}`);
      // The registry could not mount and started an ordinary upload instead: use it.
      await response.body?.cancel();
      location = this.location(response, path);
      break;
    }
    location ??= await this.startUpload(options.signal);
    if (options.chunkSize === undefined) {
      const url = withDigest(location, descriptor.digest);
      const body = await open();
      const response = await this.send({
        method: 'PUT',
        path: url,
        ...this.push(),
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(descriptor.size) },
        body,
        ...opt(options.signal),
      }).finally(() => body.destroy());
      if (response.status === 201) return 'uploaded';
      const text = await response.text();
      if (!REFUSES_MONOLITHIC.has(response.status)) throw this.error(response, text, 'PUT', url, `blob ${descriptor.digest} of ${this.name}`);
      location = await this.startUpload(options.signal);
    }
    await this.uploadChunks(descriptor, await open(), location, options.chunkSize ?? DEFAULT_CHUNK, options.signal);
    return 'uploaded';
  }

  /** Puts a manifest under `reference` (a tag or its digest); resolves to its digest. */
  async putManifest(reference: string, mediaType: string, bytes: Buffer, signal?: AbortSignal): Promise<Digest> {
    const path = `/v2/${this.ref.path}/manifests/${reference}`;
    const response = await this.send({ method: 'PUT', path, ...this.push(), headers: { 'Content-Type': mediaType }, body: bytes, ...opt(signal) });
    const body = await response.text();
    if (response.status !== 201 && response.status !== 200) throw this.error(response, body, 'PUT', path, `manifest ${reference} of ${this.name}`);
    const digest = digestOf(bytes);
    const announced = response.headers.get('docker-content-digest');
    if (announced && announced !== digest) throw new DigestMismatchError(digest, announced, `manifest pushed to ${this.name}`);
    return digest;
  }

  private async startUpload(signal?: AbortSignal): Promise<string> {
    const path = `/v2/${this.ref.path}/blobs/uploads/`;
    const response = await this.send({ method: 'POST', path, ...this.push(), headers: { 'Content-Length': '0' }, ...opt(signal) });
    if (response.status !== 202) throw this.error(response, await response.text(), 'POST', path, `an upload to ${this.name}`);
    await response.body?.cancel();
    return this.location(response, path);
  }

  private async uploadChunks(descriptor: Descriptor, source: Readable, start: string, chunkSize: number, signal?: AbortSignal): Promise<void> {
    let location = start;
    let offset = 0;
    for await (const chunk of chunks(source, chunkSize)) {
      const response = await this.send({
        method: 'PATCH',
        path: location,
        ...this.push(),
        headers: {
          'Content-Type': 'application/octet-stream',
          'Content-Range': `${offset}-${offset + chunk.length - 1}`,
          'Content-Length': String(chunk.length),
        },
        body: chunk,
        ...opt(signal),
      });
      if (response.status !== 202) throw this.error(response, await response.text(), 'PATCH', location, `blob ${descriptor.digest} of ${this.name}`);
      await response.body?.cancel();
      location = this.location(response, location);
      offset += chunk.length;
    }
    if (offset !== descriptor.size) throw new InternalError(`blob ${descriptor.digest}: read ${offset} bytes, expected ${descriptor.size}`);
    const url = withDigest(location, descriptor.digest);
    const response = await this.send({ method: 'PUT', path: url, ...this.push(), headers: { 'Content-Length': '0' }, ...opt(signal) });
    if (response.status !== 201) throw this.error(response, await response.text(), 'PUT', url, `blob ${descriptor.digest} of ${this.name}`);
    await response.body?.cancel();
  }

  private push(): Pick<RegistryRequest, 'scope'> {
    return { scope: { repository: this.ref.path, actions: ['pull', 'push'] } };
  }

  private async send(request: RegistryRequest): Promise<HttpResponse> {
    return this.transport.fetch(request);
  }

  /** The upload URL a response points to, absolute. */
  private location(response: HttpResponse, requested: string): string {
    const header = response.headers.get('location');
    if (!header)
      throw new UnavailableError(`registry ${this.ref.domain} gave no upload location for ${this.name} (${requested} → ${response.status})`);
    return new URL(header, this.transport.base).toString();
  }

  private error(response: HttpResponse, body: string, method: string, path: string, about: string): Error {
    const url = path.startsWith('http') ? path : `${this.transport.base}${path}`;
    const hint = response.status === 401 || response.status === 403 ? `log in with: tsbuild login ${this.ref.domain}` : undefined;
    return registryError(response, body, { method, url }, about, hint);
  }
}

function withDigest(location: string, digest: string): string {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url.toString();
}

function opt(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}

/** The stream's bytes in chunks of exactly `size` (the last may be shorter). */
async function* chunks(source: Readable, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const data of source) {
    let buffer = data as Buffer;
    while (length + buffer.length >= size) {
      const take = size - length;
      parts.push(buffer.subarray(0, take));
      yield Buffer.concat(parts);
      buffer = buffer.subarray(take);
      parts = [];
      length = 0;
    }
    if (buffer.length > 0) {
      parts.push(buffer);
      length += buffer.length;
    }
  }
  if (length > 0) yield Buffer.concat(parts);
}
