/**
 * Pulls from a real distribution registry, with images pushed by skopeo (the independent writer):
 * OCI and Docker media types, a multi-platform index, Basic and Bearer auth, a mirror, plain HTTP,
 * a tampering server, a second pull that transfers nothing, and a pull killed mid-transfer.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalContentStore } from '../../src/content/local-store.js';
import { DigestMismatchError } from '../../src/digest/hashing.js';
import { ImageIndex } from '../../src/images/image-index.js';
import { pull, type PullOptions } from '../../src/verbs/pull.js';
import { RegistryError } from '../../src/registry/registry-error.js';
import { tsbuild } from '../helpers/cli.js';
import { writeBusyboxLayout, type LayoutImage } from '../helpers/oci-image.js';
import { startProxy } from '../helpers/proxy.js';
import { registryAvailable, skopeoPush, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-pull-');
const USER = { user: 'tester', password: 's3cret-pass' };
let layouts: string;
let single: LayoutImage;
let multi: LayoutImage;

/** Pull options isolated from the machine: a fresh root, no registries file, an empty docker config. */
function options(extra: Partial<PullOptions> = {}): PullOptions & { root: string } {
  return { root: tempDir(), registriesConfig: '/nonexistent/registries.json', dockerConfig: tempDir(), ...extra };
}

function dockerConfigWith(host: string): string {
  const dir = tempDir();
  writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${USER.user}:${USER.password}`).toString('base64') } } }),
  );
  return dir;
}

/** Every blob in the store reads back whole and verified; returns their digests. */
async function verifiedBlobs(root: string): Promise<string[]> {
  const store = new LocalContentStore(root);
  const digests: string[] = [];
  for await (const blob of store.walk()) {
    for await (const _chunk of await store.reader(blob.digest)) void _chunk;
    digests.push(blob.digest);
  }
  return digests.sort();
}

beforeAll(async () => {
  if (!registryAvailable) return;
  // Shared by every test of the file, so not from tempDir() (which empties after each test).
  layouts = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-layouts-'));
  single = await writeBusyboxLayout(path.join(layouts, 'single'), '1', ['linux/amd64']);
  multi = await writeBusyboxLayout(path.join(layouts, 'multi'), 'multi', ['linux/amd64', 'linux/arm64']);
}, 60_000);
afterAll(() => {
  if (layouts) rmSync(layouts, { recursive: true, force: true });
});

describe.skipIf(!registryAvailable)('pull from a plain-HTTP registry (anonymous)', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
    await skopeoPush(path.join(layouts, 'single'), '1', `${registry.host}/busybox:1`);
    await skopeoPush(path.join(layouts, 'single'), '1', `${registry.host}/busybox-docker:1`, { format: 'v2s2' });
    await skopeoPush(path.join(layouts, 'multi'), 'multi', `${registry.host}/multi:1`, { all: true });
  }, 60_000);
  afterAll(() => registry?.stop());

  it('stores the manifest, config and layers skopeo pushed (OCI media types)', async () => {
    const opts = options();
    const result = await pull(`${registry.host}/busybox:1`, opts);
    const [image] = single.manifests;
    expect(result).toMatchObject({
      name: `${registry.host}/busybox:1`,
      digest: image?.digest,
      config: image?.config,
      platform: 'linux/amd64',
      layers: 2,
      downloaded: 2,
    });
    expect(await verifiedBlobs(opts.root)).toEqual([image?.digest, image?.config, ...(image?.layers ?? [])].sort());
    const record = await new ImageIndex(opts.root).get(`${registry.host}/busybox:1`);
    expect(record?.manifest).toEqual({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: image?.digest, size: expect.any(Number) });
    const inspected = execFileSync('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${registry.host}/busybox:1`], {
      encoding: 'utf8',
    }).trim();
    expect(result.digest).toBe(inspected);
  });

  it('reads Docker schema 2 manifests', async () => {
    const opts = options();
    const result = await pull(`${registry.host}/busybox-docker:1`, opts);
    const record = await new ImageIndex(opts.root).get(`${registry.host}/busybox-docker:1`);
    expect(record?.manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(result.layers).toBe(2);
    const manifest = JSON.parse((await new LocalContentStore(opts.root).readBytes(result.digest)).toString());
    expect(manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([
      'application/vnd.docker.image.rootfs.diff.tar.gzip',
      'application/vnd.docker.image.rootfs.diff.tar.gzip',
    ]);
  });

  it.each(['linux/amd64', 'linux/arm64'])('picks %s from a multi-platform index', async (platform) => {
    const opts = options({ platform });
    const result = await pull(`${registry.host}/multi:1`, opts);
    const expected = multi.manifests.find((m) => m.platform === platform);
    expect(result).toMatchObject({ digest: expected?.digest, config: expected?.config, platform });
    const record = await new ImageIndex(opts.root).get(`${registry.host}/multi:1`);
    expect(record?.target).toEqual({ mediaType: 'application/vnd.oci.image.index.v1+json', digest: multi.digest, size: expect.any(Number) });
  });

  it('names the platforms an index has when the wanted one is missing', async () => {
    await expect(pull(`${registry.host}/multi:1`, options({ platform: 'linux/s390x' }))).rejects.toThrow(
      `no image for platform linux/s390x in ${registry.host}/multi:1 (available: linux/amd64, linux/arm64)`,
    );
  });

  it('reports an unknown tag with the registry, request, status and OCI code', async () => {
    const err = await pull(`${registry.host}/busybox:nope`, options()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).message).toBe(
      `manifest unknown: tag nope of ${registry.host}/busybox not found (GET http://${registry.host}/v2/busybox/manifests/nope → 404)`,
    );
    expect((err as RegistryError).codes).toEqual(['MANIFEST_UNKNOWN']);
  });

  it('transfers no blob on a second pull of the same image', async () => {
    const proxy = await startProxy(registry.host);
    try {
      const opts = options();
      const first = await pull(`${proxy.host}/busybox:1`, opts);
      expect([first.downloaded, proxy.blobGets()]).toEqual([2, 3]);
      const second = await pull(`${proxy.host}/busybox:1`, opts);
      expect([second.downloaded, second.downloadedBytes, proxy.blobGets()]).toEqual([0, 0, 3]);
    } finally {
      await proxy.stop();
    }
  });

  it('rejects blobs served with wrong content and stores nothing of them', async () => {
    const proxy = await startProxy(registry.host, { tamperBlobs: true });
    try {
      const opts = options();
      await expect(pull(`${proxy.host}/busybox:1`, opts)).rejects.toBeInstanceOf(DigestMismatchError);
      // The config blob is the first one fetched, and it is already refused: nothing is stored.
      expect(await verifiedBlobs(opts.root)).toEqual([]);
      const ingest = path.join(opts.root, 'ingest');
      expect(existsSync(ingest) ? readdirSync(ingest) : []).toEqual([]);
      expect(await new ImageIndex(opts.root).list()).toEqual([]);
    } finally {
      await proxy.stop();
    }
  });

  it('pulls Docker Hub names through a mirror', async () => {
    await skopeoPush(path.join(layouts, 'single'), '1', `${registry.host}/library/busybox:1`);
    const opts = options({ registries: { mirrors: { 'docker.io': [`http://${registry.host}`] } } });
    const result = await pull('busybox:1', opts);
    expect(result.name).toBe('docker.io/library/busybox:1');
    expect(result.digest).toBe(single.manifests[0]?.digest);
  });

  it('leaves a consistent store when killed mid-pull, and the next pull completes', async () => {
    const proxy = await startProxy(registry.host, { slowBlobsMs: 20 });
    const root = tempDir();
    const env = { TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() };
    try {
      const child = spawn(process.execPath, ['bin/tsbuild.js', '--root', root, 'pull', `${proxy.host}/busybox:1`], {
        env: { ...process.env, ...env },
        stdio: 'ignore',
      });
      const ingest = path.join(root, 'ingest');
      // A small blob's ingest file may be committed (renamed away) between the listing and its stat.
      const deadline = Date.now() + 20_000;
      while (
        !(existsSync(ingest) && readdirSync(ingest).some((f) => (statSync(path.join(ingest, f), { throwIfNoEntry: false })?.size ?? 0) > 32768)) &&
        Date.now() < deadline
      ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const [image] = single.manifests;
      expect((await verifiedBlobs(root)).includes(image?.layers[0] ?? '')).toBe(false);
      expect(await new ImageIndex(root).list()).toEqual([]);
      expect(readdirSync(ingest)).toEqual([expect.stringMatching(`^w-${child.pid}\\.\\d+-[0-9a-f]{16}$`)]);
      // The next pull reclaims the killed one's ingest file before it starts.
      const again = tsbuild(['--root', root, 'pull', '-q', `${registry.host}/busybox:1`], { env });
      expect(again.stdout).toBe(`${image?.digest}\n`);
      expect(await verifiedBlobs(root)).toEqual([image?.digest, image?.config, ...(image?.layers ?? [])].sort());
      expect(readdirSync(ingest)).toEqual([]);
    } finally {
      await proxy.stop();
    }
  });

  it('--resolve-bases gives the plan the base image’s config and digest', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${registry.host}/busybox:1\nRUN echo hi\n`);
    const result = tsbuild(['build', '--print-plan=json', '--resolve-bases', dir], {
      env: { TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() },
    });
    expect(result.status, result.stderr).toBe(0);
    const [stage] = JSON.parse(result.stdout).stages;
    expect(stage.baseResolved).toBe(true);
    expect(stage.steps[0].digest).toBe(single.manifests[0]?.digest);
    expect(stage.config).toEqual({ Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'], WorkingDir: '/' });
  });

  it('lists pulled images with tsbuild images', () => {
    const root = tempDir();
    const env = { TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() };
    expect(tsbuild(['--root', root, 'pull', '-q', `${registry.host}/busybox:1`], { env }).status).toBe(0);
    const listing = tsbuild(['--root', root, 'images'], { env }).stdout.split('\n');
    expect(listing[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\s+COMPRESSED\s+PLATFORM$/);
    expect(listing[1]).toMatch(
      new RegExp(`^${registry.host}/busybox\\s+1\\s+${single.manifests[0]?.config.slice(7, 19)}\\s+\\d+ (year|month)s? ago\\s+\\d`),
    );
  });
});

describe.skipIf(!registryAvailable)('pull with Basic auth (htpasswd)', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ htpasswd: USER });
    await skopeoPush(path.join(layouts, 'single'), '1', `${registry.host}/private:1`, { creds: `${USER.user}:${USER.password}` });
  }, 60_000);
  afterAll(() => registry?.stop());

  it('fails without credentials, saying how to log in', async () => {
    const err = await pull(`${registry.host}/private:1`, options()).catch((e: unknown) => e);
    expect((err as RegistryError).message).toBe(
      `unauthorized: authentication required for tag 1 of ${registry.host}/private (GET http://${registry.host}/v2/private/manifests/1 → 401)`,
    );
    expect((err as RegistryError).hint).toBe(`log in with: tsbuild login ${registry.host}`);
  });

  it('pulls with credentials from the docker config', async () => {
    const result = await pull(`${registry.host}/private:1`, options({ dockerConfig: dockerConfigWith(registry.host) }));
    expect(result.digest).toBe(single.manifests[0]?.digest);
  });

  it('tsbuild login checks and stores credentials that pull then uses; logout removes them', () => {
    const env = { DOCKER_CONFIG: tempDir(), TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json' };
    const bad = tsbuild(['login', registry.host, '-u', USER.user, '-p', 'wrong'], { env });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe(
      `error: unauthorized: authentication required for user tester at ${registry.host} (GET http://${registry.host}/v2/ → 401)\n`,
    );
    const good = tsbuild(['login', registry.host, '-u', USER.user, '-p', USER.password], { env });
    expect([good.status, good.stderr]).toEqual([0, `Login Succeeded (${registry.host})\n`]);
    const config = JSON.parse(readFileSync(path.join(env.DOCKER_CONFIG, 'config.json'), 'utf8'));
    expect(config.auths[registry.host].auth).toBe(Buffer.from(`${USER.user}:${USER.password}`).toString('base64'));
    expect(tsbuild(['--root', tempDir(), 'pull', '-q', `${registry.host}/private:1`], { env }).stdout).toBe(`${single.manifests[0]?.digest}\n`);
    expect(tsbuild(['logout', registry.host], { env }).stderr).toBe(`Removed login credentials for ${registry.host}\n`);
    expect(JSON.parse(readFileSync(path.join(env.DOCKER_CONFIG, 'config.json'), 'utf8')).auths).toEqual({});
  });
});

describe.skipIf(!registryAvailable)('pull with Bearer tokens', () => {
  let tokens: TokenServer;
  let registry: TestRegistry;
  beforeAll(async () => {
    tokens = await startTokenServer(USER);
    registry = await startRegistry({ token: tokens });
    await skopeoPush(path.join(layouts, 'single'), '1', `${registry.host}/secure:1`, { creds: `${USER.user}:${USER.password}` });
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
    await tokens?.stop();
  });

  it('fails anonymously with the registry’s error', async () => {
    await expect(pull(`${registry.host}/secure:1`, options())).rejects.toThrow(
      `unauthorized: authentication required for tag 1 of ${registry.host}/secure (GET http://${registry.host}/v2/secure/manifests/1 → 401)`,
    );
  });

  it('exchanges credentials for one token and reuses it for every request', async () => {
    const before = tokens.requests.length;
    const result = await pull(`${registry.host}/secure:1`, options({ dockerConfig: dockerConfigWith(registry.host) }));
    expect(result.digest).toBe(single.manifests[0]?.digest);
    expect(tokens.requests.slice(before)).toEqual(['repository:secure:pull']);
  });
});

describe('registries config file', () => {
  it('reads mirrors and insecure registries; flags add to it', async () => {
    const { loadRegistryHostsConfig, mergeHostsConfig, RegistryHosts } = await import('../../src/registry/hosts.js');
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'registries.json');
    writeFileSync(file, JSON.stringify({ mirrors: { 'docker.io': ['https://mirror.example:5000'] }, insecure: ['registry.internal:5000'] }));
    const hosts = new RegistryHosts(mergeHostsConfig(await loadRegistryHostsConfig(file), { mirrors: { 'docker.io': ['http://127.0.0.1:5001'] } }));
    expect(hosts.pullEndpoints('docker.io').map((e) => e.base)).toEqual([
      'http://127.0.0.1:5001',
      'https://mirror.example:5000',
      'https://registry-1.docker.io',
    ]);
    expect(hosts.endpoint('registry.internal:5000').base).toBe('http://registry.internal:5000');
    expect(hosts.endpoint('localhost:5000').base).toBe('http://localhost:5000');
    expect(hosts.endpoint('127.0.0.2:80').base).toBe('http://127.0.0.2:80');
    expect(hosts.endpoint('ghcr.io').base).toBe('https://ghcr.io');
    writeFileSync(file, '{"mirrors": {"docker.io": "not-a-list"}}');
    await expect(loadRegistryHostsConfig(file)).rejects.toThrow(
      `registries config ${file}: expected {"mirrors": {"host": ["url", ...]}, "insecure": ["host:port", ...]}`,
    );
  });

  it('reads network settings (seconds) that library options override field by field, into transport options (ms)', async () => {
    const { loadRegistryHostsConfig, mergeHostsConfig, RegistryHosts } = await import('../../src/registry/hosts.js');
    const { transportSettings } = await import('../../src/registry/client.js');
    const file = path.join(tempDir(), 'registries.json');
    writeFileSync(file, JSON.stringify({ network: { connectTimeout: 5, idleTimeout: 120, retries: 2 } }));
    const hosts = new RegistryHosts(mergeHostsConfig(await loadRegistryHostsConfig(file), { network: { idleTimeout: 0.5, backoff: 0.05 } }));
    expect(transportSettings(hosts.network)).toEqual({ connectTimeoutMs: 5000, idleTimeoutMs: 500, retries: 2, backoffMs: 50 });
  });

  it.each([
    ['{"network": {"idleTimeout": -1}}', '"idleTimeout" is -1'],
    ['{"network": {"retries": 1.5}}', '"retries" is 1.5'],
    ['{"network": {"timeout": 3}}', '"timeout" is 3'],
    ['{"network": {"connectTimeout": "30s"}}', '"connectTimeout" is "30s"'],
  ])('refuses the network settings %s', async (text, what) => {
    const { loadRegistryHostsConfig } = await import('../../src/registry/hosts.js');
    const file = path.join(tempDir(), 'registries.json');
    writeFileSync(file, text);
    await expect(loadRegistryHostsConfig(file)).rejects.toThrow(
      `registries config ${file}: expected "network": {"connectTimeout": seconds, "idleTimeout": seconds, "retries": count, "backoff": seconds}; ${what}`,
    );
  });
});
