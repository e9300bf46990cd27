/**
 * A `--cache-from` that cannot be used does not fail the build, as in BuildKit (which reports
 * "failed to configure registry cache importer" on the import step, or "local cache import at DIR
 * not found", and builds on): through the CLI, each kind of unusable cache prints one warning line
 * naming the cache and the cause, the build runs without it and exits 0. A cache whose step is
 * there but whose layer is gone (deleted from a local cache, a registry answering 404 for it) makes
 * that step a miss with one warning: the step runs.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tsbuild, tsbuildAsync } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { startProxy, type ProxiedRequest } from '../helpers/proxy.js';
import { registryAvailable, useBusyboxRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-cache-import-');
const busybox = useBusyboxRegistry(isRoot && registryAvailable);
let closedPort: number;
beforeAll(async () => {
  closedPort = await freePort();
});

describe.skipIf(!isRoot || !registryAvailable)('tsbuild build --cache-from that cannot be imported', () => {
  it.each([
    {
      name: 'an unreachable registry',
      ref: () => `127.0.0.1:${closedPort}/cache:1`,
      cause: () =>
        `cannot reach registry 127.0.0.1:${closedPort} (GET http://127.0.0.1:${closedPort}/v2/cache/manifests/1): ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:${closedPort})`,
    },
    {
      name: 'no cache at the ref',
      ref: () => `${busybox.registry().host}/cache:none`,
      cause: (host = busybox.registry().host) =>
        `manifest unknown: tag none of ${host}/cache not found (GET http://${host}/v2/cache/manifests/none → 404)`,
    },
    {
      name: 'an image that is not a cache',
      ref: () => `${busybox.registry().host}/busybox:1`,
      cause: () => `${busybox.registry().host}/busybox:1 is not a tsbuild build cache (config type application/vnd.oci.image.config.v1+json)`,
    },
  ])('$name: one warning line, the build runs, exit 0', ({ ref, cause }) => {
    const context = tempDir();
    writeFileSync(path.join(context, 'hello.txt'), 'hello\n');
    writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
    const env = { TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() };
    const result = tsbuild(['--root', tempDir(), 'build', '--progress=plain', '--cache-from', `type=registry,ref=${ref()}`, context], {
      env,
      timeout: 60_000,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(result.stderr.split('\n').filter((line) => /warn|error/i.test(line))).toEqual([
      `warning: cannot import the build cache from ${ref()}: ${cause()}; building without it`,
    ]);
    expect(result.stderr).toContain('1 steps run, 0 cached');
  });
});

/** A context whose build is one COPY step. */
function copyContext(): string {
  const context = tempDir();
  writeFileSync(path.join(context, 'hello.txt'), 'hello\n');
  writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
  return context;
}

const ENV = (): NodeJS.ProcessEnv => ({ TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() });
const warningsIn = (stderr: string): string[] => stderr.split('\n').filter((line) => /warn|error/i.test(line));

describe.skipIf(!isRoot)('tsbuild build --cache-from type=local that is not there', () => {
  it.each([
    { name: 'no such directory', dir: (base: string) => path.join(base, 'none'), cause: 'no such directory' },
    { name: 'an empty directory', dir: (base: string) => base, cause: 'it holds no cache.json' },
    {
      name: 'a file',
      dir: (base: string) => (writeFileSync(path.join(base, 'file'), ''), path.join(base, 'file')),
      cause: 'not a directory',
    },
  ])('$name: one warning line, the build runs, exit 0', ({ dir, cause }) => {
    const src = dir(tempDir());
    const result = tsbuild(['--root', tempDir(), 'build', '--progress=plain', '--cache-from', `type=local,src=${src}`, copyContext()], {
      env: ENV(),
      timeout: 60_000,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(warningsIn(result.stderr)).toEqual([`warning: local cache import at ${src} not found (${cause}); building without it`]);
    expect(result.stderr).toContain('1 steps run, 0 cached');
  });
});

describe.skipIf(!isRoot || !registryAvailable)('tsbuild build --cache-from whose layer is gone', () => {
  const STEP = '[1/1] COPY hello.txt /hello.txt';

  it('a local cache missing the layer blob: one warning, the step runs, exit 0', () => {
    const context = copyContext();
    const cache = tempDir();
    const exported = tsbuild(['--root', tempDir(), 'build', '-q', '--cache-to', `type=local,dest=${cache}`, context], {
      env: ENV(),
      timeout: 60_000,
    });
    expect([exported.status, exported.stderr]).toEqual([0, '']);
    const steps = (
      JSON.parse(readFileSync(path.join(cache, 'cache.json'), 'utf8')) as { steps: Record<string, { layer: { descriptor: { digest: string } } }> }
    ).steps;
    const layers = Object.values(steps).map((step) => step.layer.descriptor.digest);
    expect(layers).toHaveLength(1);
    rmSync(path.join(cache, 'blobs', 'sha256', (layers[0] as string).slice(7)));

    const result = tsbuild(['--root', tempDir(), 'build', '--progress=plain', '--cache-from', `type=local,src=${cache}`, context], {
      env: ENV(),
      timeout: 60_000,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(warningsIn(result.stderr)).toEqual([
      `warning: cannot restore ${STEP} from the imported cache: the build cache at ${cache} has no blob ${layers[0]}; the step runs`,
    ]);
    expect(result.stderr).toContain('1 steps run, 0 cached');
  });

  it('a registry answering 404 for the layer: one warning, the step runs, exit 0', async () => {
    const context = copyContext();
    const host = busybox.registry().host;
    const exported = tsbuild(['--root', tempDir(), 'build', '-q', '--cache-to', `type=registry,ref=${host}/cache:gone`, context], {
      env: ENV(),
      timeout: 60_000,
    });
    expect([exported.status, exported.stderr]).toEqual([0, '']);
    // The first blob read is the cache's config; the next, the layer a step restores from.
    const isBlob = (r: ProxiedRequest): boolean => r.method === 'GET' && r.url.startsWith('/v2/cache/blobs/');
    const body = JSON.stringify({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry' }] });
    const proxy = await startProxy(host, {
      fault: (r, earlier) => (isBlob(r) && earlier.some(isBlob) ? { status: 404, headers: { 'content-type': 'application/json' }, body } : undefined),
    });
    try {
      // Not spawnSync: the proxy answers from this process.
      const result = await tsbuildAsync(
        ['--root', tempDir(), 'build', '--progress=plain', '--cache-from', `type=registry,ref=${proxy.host}/cache:gone`, context],
        {
          env: ENV(),
          timeout: 60_000,
        },
      );
      expect(result.status, result.stderr).toBe(0);
      const layer = proxy.log.filter(isBlob).at(-1)?.url.slice('/v2/cache/blobs/'.length) ?? '';
      expect(layer).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(warningsIn(result.stderr)).toEqual([
        `warning: cannot restore ${STEP} from the imported cache: blob unknown: blob unknown to registry for blob ${layer} of ${proxy.host}/cache (GET http://${proxy.host}/v2/cache/blobs/${layer} → 404); the step runs`,
      ]);
      expect(result.stderr).toContain('1 steps run, 0 cached');
    } finally {
      await proxy.stop();
    }
  });
});
