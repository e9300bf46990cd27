/**
 * Pulls through a fault-injecting proxy in front of a real distribution registry: transient
 * answers (500, 502, 503, 504, 429, a reset) are retried with backoff a bounded number of times,
 * then fail in one line naming the registry, the request and the status; permanent ones are not
 * retried; a registry that goes silent times
 * out and is retried; a blob whose connection breaks or stalls mid-body is resumed with a Range
 * request (or skipped ahead when the server ignores the range) and still verified whole; skopeo
 * then reads the stored image exactly as the registry serves it.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalContentStore } from '../../src/content/local-store.js';
import { parseDigest } from '../../src/digest/digest.js';
import { saveImages } from '../../src/verbs/images.js';
import { pull, type PullOptions } from '../../src/verbs/pull.js';
import type { NetworkSettings } from '../../src/registry/hosts.js';
import { writeBusyboxLayout, type LayoutImage } from '../helpers/oci-image.js';
import { startProxy, type ProxiedRequest, type ProxyFault, type TestProxy } from '../helpers/proxy.js';
import { registryAvailable, skopeoPush, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-resilience-');
/** The per-platform layer carries this many random (incompressible) bytes. */
const PAYLOAD_BYTES = 4 * 1024 * 1024;
const CUT = 1_000_000;

let layouts: string;
let image: LayoutImage['manifests'][number];
let registry: TestRegistry;

beforeAll(async () => {
  if (!registryAvailable) return;
  layouts = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-resilience-layouts-'));
  const layout = await writeBusyboxLayout(path.join(layouts, 'big'), '1', ['linux/amd64'], 'oci', { payload: randomBytes(PAYLOAD_BYTES) });
  image = layout.manifests[0] as LayoutImage['manifests'][number];
  registry = await startRegistry();
  await skopeoPush(path.join(layouts, 'big'), '1', `${registry.host}/big:1`);
}, 60_000);
afterAll(async () => {
  await registry?.stop();
  if (layouts) rmSync(layouts, { recursive: true, force: true });
});

/** Pull options isolated from the machine, with fast retries and the given network settings. */
function options(network: NetworkSettings = {}): PullOptions & { root: string } {
  return {
    root: tempDir(),
    registriesConfig: '/nonexistent/registries.json',
    dockerConfig: tempDir(),
    registries: { network: { backoff: 0.02, ...network } },
  };
}

/** Runs `fn` with a proxy in front of the registry that injects `fault`. */
async function withProxy<T>(
  fault: (request: ProxiedRequest, earlier: readonly ProxiedRequest[]) => ProxyFault | undefined,
  fn: (proxy: TestProxy) => Promise<T>,
): Promise<T> {
  const proxy = await startProxy(registry.host, { fault });
  try {
    return await fn(proxy);
  } finally {
    await proxy.stop();
  }
}

const isManifest = (r: ProxiedRequest): boolean => r.method === 'GET' && r.url === '/v2/big/manifests/1';
/** The first `n` manifest requests get `fault`; later ones go through. */
const firstManifests =
  (n: number, fault: ProxyFault) =>
  (r: ProxiedRequest, earlier: readonly ProxiedRequest[]): ProxyFault | undefined =>
    isManifest(r) && earlier.filter(isManifest).length < n ? fault : undefined;

/** A row of the retry table: the proxy's fault, the tag pulled, the requests expected, the error if it fails. */
interface RetryCase {
  name: string;
  fault: (request: ProxiedRequest, earlier: readonly ProxiedRequest[]) => ProxyFault | undefined;
  tag: string;
  requests: number;
  error: ((host: string) => string) | undefined;
  atLeastMs?: number;
}

describe.skipIf(!registryAvailable)('retries through a faulty proxy', () => {
  it.each<RetryCase>([
    { name: '503 twice, then OK: success after 3 requests', fault: firstManifests(2, { status: 503 }), tag: '1', requests: 3, error: undefined },
    {
      name: '429 with Retry-After: 1 s, then OK: the wait is honoured',
      fault: firstManifests(1, { status: 429, headers: { 'Retry-After': '1' } }),
      tag: '1',
      requests: 2,
      error: undefined,
      atLeastMs: 1000,
    },
    { name: '500 once, then OK', fault: firstManifests(1, { status: 500 }), tag: '1', requests: 2, error: undefined },
    { name: '502 twice, then OK: success after 3 requests', fault: firstManifests(2, { status: 502 }), tag: '1', requests: 3, error: undefined },
    { name: '504 once, then OK', fault: firstManifests(1, { status: 504 }), tag: '1', requests: 2, error: undefined },
    { name: 'a reset before the answer, then OK', fault: firstManifests(1, { reset: true }), tag: '1', requests: 2, error: undefined },
    {
      name: '500 forever: one line after the bound',
      fault: firstManifests(99, { status: 500 }),
      tag: '1',
      requests: 3,
      error: (host: string) => `internal server error for tag 1 of ${host}/big (GET http://${host}/v2/big/manifests/1 → 500, 3 attempts)`,
    },
    ...[
      { status: 502, text: 'bad gateway' },
      { status: 503, text: 'service unavailable' },
      { status: 504, text: 'gateway timeout' },
      { status: 429, text: 'too many requests' },
    ].map(({ status, text }) => ({
      name: `${status} forever: one line after the bound`,
      fault: firstManifests(99, { status }),
      tag: '1',
      requests: 3,
      error: (host: string) => `${text} for tag 1 of ${host}/big (GET http://${host}/v2/big/manifests/1 → ${status}, 3 attempts)`,
    })),
    {
      name: 'resets forever: one line after the bound',
      fault: firstManifests(99, { reset: true }),
      tag: '1',
      requests: 3,
      error: (host: string) => `cannot reach registry ${host} (GET http://${host}/v2/big/manifests/1): ECONNRESET (socket hang up) (3 attempts)`,
    },
    {
      name: '401: no retry',
      fault: firstManifests(99, { status: 401 }),
      tag: '1',
      requests: 1,
      error: (host: string) => `unauthorized: authentication required for tag 1 of ${host}/big (GET http://${host}/v2/big/manifests/1 → 401)`,
    },
    {
      name: '404 from the registry: no retry',
      fault: () => undefined,
      tag: 'nope',
      requests: 1,
      error: (host: string) => `manifest unknown: tag nope of ${host}/big not found (GET http://${host}/v2/big/manifests/nope → 404)`,
    },
  ])('$name', async ({ fault, tag, requests, error, atLeastMs }) => {
    await withProxy(fault, async (proxy) => {
      const started = Date.now();
      const result = pull(`${proxy.host}/big:${tag}`, options({ retries: 2 }));
      if (error) await expect(result).rejects.toMatchObject({ message: error(proxy.host) });
      else expect((await result).digest).toBe(image.digest);
      expect(proxy.requests.filter((r) => r === `GET /v2/big/manifests/${tag}`).length).toBe(requests);
      expect(Date.now() - started).toBeGreaterThanOrEqual(atLeastMs ?? 0);
    });
  });
});

describe.skipIf(!registryAvailable)('a registry that answers malformed documents', () => {
  const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
  const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'b'.repeat(64)}`, size: 3 };
  it.each([
    [
      'a layer size that is a string',
      { schemaVersion: 2, config: layer, layers: [{ ...layer, size: '3' }] },
      'layers[0].size: Invalid input: expected number, received string',
    ],
    ['a digest that is a path', { schemaVersion: 2, config: layer, layers: [{ ...layer, digest: '../../x' }] }, 'layers[0].digest: not a digest'],
    ['no layers', { schemaVersion: 2, config: layer }, 'layers: Invalid input: expected array, received undefined'],
  ])('%s: one line naming the image and the field, nothing stored', async (_name, doc, problem) => {
    const fault = firstManifests(99, { status: 200, headers: { 'content-type': OCI_MANIFEST }, body: JSON.stringify(doc) });
    await withProxy(fault, async (proxy) => {
      const opts = options();
      await expect(pull(`${proxy.host}/big:1`, opts)).rejects.toMatchObject({
        code: 'invalid-argument',
        message: `the manifest of ${proxy.host}/big:1: invalid manifest: ${problem}`,
      });
      const blobs = path.join(opts.root, 'blobs', 'sha256');
      expect(existsSync(blobs) ? readdirSync(blobs) : []).toEqual([]);
    });
  });
});

describe.skipIf(!registryAvailable)('timeouts through a proxy that accepts and stalls', () => {
  it('retries a request that got no answer in time, like a reset', async () => {
    await withProxy(firstManifests(1, { stall: true }), async (proxy) => {
      const result = await pull(`${proxy.host}/big:1`, options({ idleTimeout: 0.3 }));
      expect(result.digest).toBe(image.digest);
      expect(proxy.requests.filter((r) => r === 'GET /v2/big/manifests/1').length).toBe(2);
    });
  });

  it('gives up after the retries with one line naming the registry, the request and what timed out', async () => {
    await withProxy(firstManifests(99, { stall: true }), async (proxy) => {
      const started = Date.now();
      await expect(pull(`${proxy.host}/big:1`, options({ idleTimeout: 0.2, retries: 1 }))).rejects.toMatchObject({
        message: `cannot reach registry ${proxy.host} (GET http://${proxy.host}/v2/big/manifests/1): timed out waiting for the response (nothing received for 0.2 s) (2 attempts)`,
      });
      expect(proxy.requests.filter((r) => r === 'GET /v2/big/manifests/1').length).toBe(2);
      expect(Date.now() - started).toBeLessThan(5000);
    });
  });
});

describe.skipIf(!registryAvailable)('a blob download that breaks off resumes', () => {
  const bigLayer = (): string => image.layers[1] as string;
  const isBigLayer = (r: ProxiedRequest): boolean => r.method === 'GET' && r.url === `/v2/big/blobs/${bigLayer()}`;
  /** The first request for the big layer gets `first`, the second `second`. */
  const onBigLayer =
    (first: ProxyFault, second?: ProxyFault) =>
    (r: ProxiedRequest, earlier: readonly ProxiedRequest[]): ProxyFault | undefined => {
      if (!isBigLayer(r)) return undefined;
      const before = earlier.filter(isBigLayer).length;
      return before === 0 ? first : before === 1 ? second : undefined;
    };

  it.each([
    { name: 'connection cut after 1 MB: a Range request for the rest', fault: onBigLayer({ cutAfter: CUT }) },
    {
      name: 'connection silent after 1 MB: the idle timeout, then a Range request',
      fault: onBigLayer({ stallAfter: CUT }),
      network: { idleTimeout: 0.3 },
    },
    {
      name: 'a server that ignores Range: the whole blob again, its first 1 MB skipped',
      fault: onBigLayer({ cutAfter: CUT }, { ignoreRange: true }),
    },
  ])('$name', async ({ fault, network }) => {
    await withProxy(fault, async (proxy) => {
      const opts = options(network);
      const result = await pull(`${proxy.host}/big:1`, opts);
      expect(result.digest).toBe(image.digest);
      const gets = proxy.log.filter(isBigLayer).map((r) => r.headers.range ?? 'no range');
      expect(gets).toEqual(['no range', `bytes=${CUT}-`]);
      // Stored whole: byte for byte the layer skopeo pushed.
      const stored = await new LocalContentStore(opts.root).readBytes(parseDigest(bigLayer()));
      expect(stored.equals(readFileSync(path.join(layouts, 'big', 'blobs', 'sha256', bigLayer().slice(7))))).toBe(true);
      await expectSkopeoReadsSame(opts.root, `${proxy.host}/big:1`);
    });
  });

  it.each([
    { name: '502 once on the layer, then OK: fetched whole on the second request', faults: 1, error: undefined },
    {
      name: '502 forever on the layer: one line naming the blob, the request and the status',
      faults: 99,
      error: (host: string, digest: string) =>
        `bad gateway for blob ${digest} of ${host}/big (GET http://${host}/v2/big/blobs/${digest} → 502, 3 attempts)`,
    },
  ])('$name', async ({ faults, error }) => {
    const fault = (r: ProxiedRequest, earlier: readonly ProxiedRequest[]): ProxyFault | undefined =>
      isBigLayer(r) && earlier.filter(isBigLayer).length < faults ? { status: 502 } : undefined;
    await withProxy(fault, async (proxy) => {
      const result = pull(`${proxy.host}/big:1`, options({ retries: 2 }));
      if (error) await expect(result).rejects.toMatchObject({ message: error(proxy.host, bigLayer()) });
      else expect((await result).digest).toBe(image.digest);
      expect(proxy.log.filter(isBigLayer).map((r) => r.headers.range ?? 'no range')).toEqual(
        error ? Array(3).fill('no range') : ['no range', 'no range'],
      );
    });
  });

  it('refuses a resume answered with the wrong range, in one line', async () => {
    const fault = onBigLayer({ cutAfter: CUT }, { status: 206, headers: { 'Content-Range': 'bytes 0-9/10' }, body: '0123456789' });
    await withProxy(fault, async (proxy) => {
      const opts = options();
      await expect(pull(`${proxy.host}/big:1`, opts)).rejects.toMatchObject({
        message: `cannot read blob ${bigLayer()} of ${proxy.host}/big from registry ${proxy.host} (GET http://${proxy.host}/v2/big/blobs/${bigLayer()}): asked for bytes ${CUT}- and got "bytes 0-9/10" (2 attempts)`,
      });
      expect(await new LocalContentStore(opts.root).info(parseDigest(bigLayer()))).toBeUndefined();
    });
  });

  it('gives up when resumes make no progress, naming the blob, registry and request', async () => {
    const fault = (r: ProxiedRequest, earlier: readonly ProxiedRequest[]): ProxyFault | undefined =>
      isBigLayer(r) ? { cutAfter: earlier.some(isBigLayer) ? 0 : CUT } : undefined;
    await withProxy(fault, async (proxy) => {
      await expect(pull(`${proxy.host}/big:1`, options({ retries: 2 }))).rejects.toMatchObject({
        message: `cannot read blob ${bigLayer()} of ${proxy.host}/big from registry ${proxy.host} (GET http://${proxy.host}/v2/big/blobs/${bigLayer()}): ECONNRESET (aborted) (4 attempts)`,
      });
      // The first read, then one resume and two more without a byte of progress.
      expect(proxy.log.filter(isBigLayer).map((r) => r.headers.range ?? 'no range')).toEqual(['no range', ...Array(3).fill(`bytes=${CUT}-`)]);
    });
  });
});

/** skopeo copies the image from the registry and from what tsbuild stored (saved as an OCI archive) to identical directories. */
async function expectSkopeoReadsSame(root: string, name: string): Promise<void> {
  const dir = tempDir();
  const archive = path.join(dir, 'image.tar');
  await saveImages([name], archive, 'oci', { root });
  const fromStore = path.join(dir, 'from-store');
  const fromRegistry = path.join(dir, 'from-registry');
  execFileSync('skopeo', ['copy', '--quiet', `oci-archive:${archive}`, `dir:${fromStore}`]);
  execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${registry.host}/big:1`, `dir:${fromRegistry}`]);
  const files = readdirSync(fromRegistry).sort();
  expect(readdirSync(fromStore).sort()).toEqual(files);
  for (const file of files) expect(readFileSync(path.join(fromStore, file)).equals(readFileSync(path.join(fromRegistry, file))), file).toBe(true);
}
