/**
 * Multi-platform builds end to end (issue 19): a busybox index (linux/amd64 and linux/arm64) in a
 * real registry, one build for both platforms with runc, a `FROM --platform=$BUILDPLATFORM` stage
 * run once natively, and the index read back by skopeo from an OCI layout and from the registry.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalContentStore } from '../../src/content/local-store.js';
import { layerCompression } from '../../src/archive/compression.js';
import { applyLayer } from '../../src/diff/applier.js';
import { parseDigest } from '../../src/digest/digest.js';
import { ImageIndex } from '../../src/images/image-index.js';
import type { ImageConfig, Index, Manifest } from '../../src/image/oci-types.js';
import { parseOutput } from '../../src/export/output-spec.js';
import type { ProgressSink } from '../../src/progress/events.js';
import { build } from '../../src/verbs/build.js';
import { testRequest } from '../helpers/build.js';
import { writeBusyboxLayout } from '../helpers/oci-image.js';
import { registryAvailable, skopeoPush, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';
import { afterAll, beforeAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { arm64Busybox } from '../helpers/busybox-arm64.js';
import { tsbuild } from '../helpers/cli.js';

const tempDir = useTempDirs('tsbuild-multiplat-');
const enabled = isRoot && registryAvailable;
/** Whether the kernel hands arm64 programs to QEMU (Debian's qemu-user-static registered, binfmt_misc mounted). */
const emulated = (() => {
  try {
    return readFileSync('/proc/sys/fs/binfmt_misc/qemu-aarch64', 'utf8').startsWith('enabled');
  } catch {
    return false;
  }
})();

let registry: TestRegistry | undefined;
let layouts: string | undefined;
beforeAll(async () => {
  if (!enabled) return;
  layouts = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-multiplat-layouts-'));
  await writeBusyboxLayout(path.join(layouts, 'bb'), '1', ['linux/amd64', 'linux/arm64']);
  registry = await startRegistry();
  await skopeoPush(path.join(layouts, 'bb'), '1', `${registry.host}/busybox:1`, { all: true });
  if (!emulated) return;
  // For RUN under QEMU: the arm64 image gets Debian's arm64 busybox.
  const busybox = { 'linux/arm64': await arm64Busybox() };
  await writeBusyboxLayout(path.join(layouts, 'native'), '1', ['linux/amd64', 'linux/arm64'], 'oci', { busybox });
  await skopeoPush(path.join(layouts, 'native'), '1', `${registry.host}/native:1`, { all: true });
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  if (layouts) rmSync(layouts, { recursive: true, force: true });
});
const host = (): string => (registry as TestRegistry).host;

/**
 * A tools stage on the build platform that reads no target arg (so both platforms share it), and a
 * final stage per target platform: its own base (`/etc/platform` says which), the target args in
 * ENV, and the tool copied in. No RUN in the target stages: they need no emulator.
 */
function project(): { context: string; root: string } {
  const context = tempDir();
  writeFileSync(
    path.join(context, 'Dockerfile'),
    [
      `FROM --platform=$BUILDPLATFORM ${host()}/busybox:1 AS tools`,
      'RUN echo "built on $(cat /etc/platform)" > /tool.txt',
      `FROM ${host()}/busybox:1`,
      'ARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM',
      'ENV TARGET="$TARGETPLATFORM|$TARGETOS|$TARGETARCH|$TARGETVARIANT" BUILT_ON=$BUILDPLATFORM',
      'COPY --from=tools /tool.txt /tool.txt',
    ].join('\n'),
  );
  return { context, root: tempDir() };
}

/** Events of started steps, by name. */
function startedSteps(): { sink: ProgressSink; started: string[] } {
  const started: string[] = [];
  return { started, sink: { emit: (e) => (e.type === 'step' && e.status === 'started' ? started.push(e.name) : undefined) } };
}

async function readImage(root: string, digest: string): Promise<{ config: ImageConfig; files: (name: string) => string }> {
  const store = new LocalContentStore(root);
  const manifest = JSON.parse((await store.readBytes(parseDigest(digest))).toString()) as Manifest;
  const config = JSON.parse((await store.readBytes(parseDigest(manifest.config.digest))).toString()) as ImageConfig;
  const rootfs = tempDir();
  for (const layer of manifest.layers)
    await applyLayer(await store.reader(parseDigest(layer.digest)), rootfs, { mode: 'plain', compression: layerCompression(layer.mediaType) });
  return { config, files: (name) => readFileSync(path.join(rootfs, name), 'utf8') };
}

const skopeo = (...args: string[]): string => execFileSync('skopeo', args, { encoding: 'utf8' });

describe.skipIf(!enabled)('a build for linux/amd64 and linux/arm64', () => {
  it('makes an index of one image per platform, with the build-platform stage run once', async () => {
    const p = project();
    const { sink, started } = startedSteps();
    const result = await build(testRequest(p, tempDir, { platform: 'linux/amd64,linux/arm64', progress: sink }));
    expect(result.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    // The tools stage's RUN is the same step for both platforms: run once, natively.
    expect(started.filter((name) => name.includes('RUN echo'))).toEqual([
      '[linux/amd64 tools 2/2] RUN echo "built on $(cat /etc/platform)" > /tool.txt',
    ]);
    expect(result.ran).toBe(3); // the RUN, and a COPY per platform
    const store = new LocalContentStore(p.root);
    const index = JSON.parse((await store.readBytes(result.digest)).toString()) as Index;
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests.map((m) => [m.mediaType, m.platform])).toEqual([
      ['application/vnd.oci.image.manifest.v1+json', { os: 'linux', architecture: 'amd64' }],
      ['application/vnd.oci.image.manifest.v1+json', { os: 'linux', architecture: 'arm64' }],
    ]);
    const expected: Array<[string, string]> = [
      ['amd64', 'linux/amd64|linux|amd64|'],
      ['arm64', 'linux/arm64|linux|arm64|'],
    ];
    for (const [i, [arch, target]] of expected.entries()) {
      const image = await readImage(p.root, index.manifests[i]?.digest ?? '');
      expect([image.config.os, image.config.architecture]).toEqual(['linux', arch]);
      expect(image.config.config?.Env).toContain(`TARGET=${target}`);
      expect(image.config.config?.Env).toContain('BUILT_ON=linux/amd64');
      expect(image.files('etc/platform')).toBe(`linux/${arch}\n`); // the base resolved for the platform
      expect(image.files('tool.txt')).toBe('built on linux/amd64\n');
    }
    // The store names the index and lists both platforms.
    const record = await new ImageIndex(p.root).get('docker.io/library/app:1');
    expect(record?.target).toEqual({ mediaType: 'application/vnd.oci.image.index.v1+json', digest: result.digest, size: expect.any(Number) });
    expect(record?.platforms?.map((x) => [x.platform, x.manifest.digest])).toEqual([
      ['linux/amd64', index.manifests[0]?.digest],
      ['linux/arm64', index.manifests[1]?.digest],
    ]);

    // Again: every step cached, the same index.
    const again = await build(testRequest(p, tempDir, { platform: ['linux/amd64', 'linux/arm64'] }));
    expect([again.digest, again.ran]).toEqual([result.digest, 0]);
  }, 120_000);

  it('writes an OCI layout with the index that skopeo reads per platform, and one local directory per platform', async () => {
    const p = project();
    const layout = path.join(tempDir(), 'layout');
    const local = path.join(tempDir(), 'files');
    const result = await build(
      testRequest(p, tempDir, {
        platform: 'linux/amd64,linux/arm64',
        outputs: [parseOutput(`type=oci,dest=${layout},tar=false`), parseOutput(`type=local,dest=${local}`)],
      }),
    );
    const raw = JSON.parse(skopeo('inspect', '--raw', `oci:${layout}:1`)) as Index;
    expect(raw.manifests.map((m) => m.platform?.architecture)).toEqual(['amd64', 'arm64']);
    const top = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as Index;
    expect(top.manifests).toEqual([
      {
        mediaType: 'application/vnd.oci.image.index.v1+json',
        digest: result.digest,
        size: expect.any(Number),
        annotations: { 'io.containerd.image.name': 'docker.io/library/app:1', 'org.opencontainers.image.ref.name': '1' },
      },
    ]);
    for (const arch of ['amd64', 'arm64']) {
      const inspected = JSON.parse(skopeo('inspect', '--override-arch', arch, `oci:${layout}:1`)) as { Architecture: string; Digest: string };
      expect(inspected.Architecture).toBe(arch);
      expect(readFileSync(path.join(local, `linux_${arch}`, 'etc/platform'), 'utf8')).toBe(`linux/${arch}\n`);
      expect(readFileSync(path.join(local, `linux_${arch}`, 'tool.txt'), 'utf8')).toBe('built on linux/amd64\n');
    }
  }, 120_000);

  it('pushes the images and then the index; skopeo reads both platforms and copies them all', async () => {
    const p = project();
    const name = `${host()}/multi:1`;
    const result = await build(
      testRequest(p, tempDir, { platform: 'linux/amd64,linux/arm64', tags: [name], outputs: [parseOutput('type=registry')] }),
    );
    const raw = JSON.parse(skopeo('inspect', '--raw', '--tls-verify=false', `docker://${name}`)) as Index;
    expect(raw.manifests.map((m) => m.platform)).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ]);
    const copied = path.join(tempDir(), 'copied');
    skopeo('copy', '--quiet', '--all', '--src-tls-verify=false', `docker://${name}`, `oci:${copied}:x`);
    const copiedIndex = JSON.parse(readFileSync(path.join(copied, 'index.json'), 'utf8')) as Index;
    expect(copiedIndex.manifests[0]?.digest).toBe(result.digest);
    const arm = JSON.parse(skopeo('inspect', '--override-arch', 'arm64', `oci:${copied}:x`)) as { Architecture: string };
    expect(arm.Architecture).toBe('arm64');
  }, 120_000);

  it('exports the cache of every platform: a new state root importing it runs no step and gives the same index', async () => {
    const p = project();
    const cache = tempDir();
    const first = await build(testRequest(p, tempDir, { platform: 'linux/amd64,linux/arm64', cacheTo: { type: 'local', dir: cache, mode: 'max' } }));
    const fresh = tempDir();
    const again = await build(testRequest({ context: p.context, root: fresh }, tempDir, { platform: 'linux/amd64,linux/arm64', cacheFrom: [cache] }));
    expect([again.digest, again.ran, again.cached]).toEqual([first.digest, 0, 4]);
  }, 120_000);

  it('writes a Docker manifest list with oci-mediatypes=false', async () => {
    const p = project();
    const layout = path.join(tempDir(), 'layout');
    const result = await build(
      testRequest(p, tempDir, {
        platform: 'linux/amd64,linux/arm64',
        outputs: [parseOutput(`type=oci,dest=${layout},tar=false,oci-mediatypes=false`)],
      }),
    );
    const index = JSON.parse(readFileSync(path.join(layout, 'blobs/sha256', result.digest.slice(7)), 'utf8')) as Index;
    expect([index.mediaType, ...index.manifests.map((m) => m.mediaType)]).toEqual([
      'application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.docker.distribution.manifest.v2+json',
    ]);
  }, 120_000);

  it('refuses type=docker before anything is written', async () => {
    const p = project();
    const dest = path.join(tempDir(), 'out.tar');
    const request = testRequest(p, tempDir, { platform: 'linux/amd64,linux/arm64', outputs: [parseOutput(`type=docker,dest=${dest}`)] });
    await expect(build(request)).rejects.toThrow(
      'type=docker cannot hold several platforms (linux/amd64, linux/arm64): docker archives hold one image per name',
    );
    expect([existsSync(dest), existsSync(path.join(p.root, 'images.json'))]).toEqual([false, false]);
  });
});

describe.skipIf(!enabled)('RUN steps of a foreign platform', () => {
  function foreign(image: string): { context: string; root: string } {
    const context = tempDir();
    writeFileSync(path.join(context, 'Dockerfile'), [`FROM ${host()}/${image}:1`, 'RUN uname -m > /machine.txt'].join('\n'));
    return { context, root: tempDir() };
  }

  it.skipIf(emulated)('stop the build before any step when the host cannot run them (no binfmt_misc handler here)', async () => {
    const p = foreign('busybox');
    const { sink, started } = startedSteps();
    await expect(build(testRequest(p, tempDir, { platform: 'linux/amd64,linux/arm64', progress: sink }))).rejects.toThrow(
      'cannot run linux/arm64 steps on this linux/amd64 machine: no binfmt_misc handler qemu-aarch64',
    );
    expect(started).toEqual([]);
  });

  it.skipIf(!emulated)(
    'run under QEMU through binfmt_misc: uname -m says aarch64 on arm64 and x86_64 on amd64',
    async () => {
      const p = foreign('native');
      const result = await build(testRequest(p, tempDir, { platform: 'linux/amd64,linux/arm64' }));
      const store = new LocalContentStore(p.root);
      const index = JSON.parse((await store.readBytes(result.digest)).toString()) as Index;
      const machines = [];
      for (const m of index.manifests) machines.push((await readImage(p.root, m.digest)).files('machine.txt'));
      expect(machines).toEqual(['x86_64\n', 'aarch64\n']);
    },
    180_000,
  );
});

describe.skipIf(!enabled)('multi-platform images in the local store, from the command line', () => {
  const env = (): NodeJS.ProcessEnv => ({ TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() });

  it('pull --all-platforms stores both; images, inspect and history show the platforms', () => {
    const root = tempDir();
    const e = env();
    const pulled = tsbuild(['--root', root, 'pull', '--all-platforms', `${host()}/busybox:1`], { env: e });
    expect(pulled.status).toBe(0);
    const indexDigest = pulled.stdout.trim();
    expect(pulled.stderr).toMatch(/\(linux\/amd64\): 2 layers, 2 pulled .*\n.*\(linux\/arm64\): 2 layers, 1 pulled .*, 1 already stored\n$/);
    const listing = tsbuild(['--root', root, 'images'], { env: e }).stdout.split('\n');
    expect(listing[1]).toMatch(new RegExp(`^${host()}/busybox\\s+1\\s+.*\\s+linux/amd64,linux/arm64$`));
    const inspected = JSON.parse(tsbuild(['--root', root, 'inspect', '--platform', 'linux/arm64', `${host()}/busybox:1`], { env: e }).stdout) as {
      index: string;
      config: ImageConfig;
      platforms: Array<{ platform: string }>;
    };
    expect([inspected.index, inspected.config.architecture, inspected.platforms.map((p) => p.platform)]).toEqual([
      indexDigest,
      'arm64',
      ['linux/amd64', 'linux/arm64'],
    ]);
    const history = tsbuild(['--root', root, 'history', '--platform', 'arm64', `${host()}/busybox:1`], { env: e });
    expect(history.stderr).toBe(`${host()}/busybox:1: linux/arm64 of linux/amd64, linux/arm64 (choose with --platform)\n`);
    expect(history.stdout).toContain('platform linux/arm64');
    const missing = tsbuild(['--root', root, 'inspect', '--platform', 'linux/s390x', `${host()}/busybox:1`], { env: e });
    expect([missing.status, missing.stderr]).toEqual([1, `error: ${host()}/busybox:1 has no linux/s390x image (it has linux/amd64, linux/arm64)\n`]);
  });

  it('builds with --platform a,b, then tag and push send the index', async () => {
    const p = project();
    const e = env();
    const built = tsbuild(
      ['--root', p.root, 'build', '--progress', 'quiet', '--platform', 'linux/amd64', '--platform', 'linux/arm64', '-t', 'app:1', p.context],
      { env: e },
    );
    expect(built.status).toBe(0);
    const digest = built.stdout.trim();
    const name = `${host()}/tagged:2`;
    expect(tsbuild(['--root', p.root, 'tag', 'app:1', name], { env: e }).status).toBe(0);
    const pushed = tsbuild(['--root', p.root, 'push', '-q', name], { env: e });
    expect([pushed.status, pushed.stdout]).toEqual([0, `${digest}\n`]);
    const raw = JSON.parse(skopeo('inspect', '--raw', '--tls-verify=false', `docker://${name}`)) as Index;
    expect(raw.manifests.map((m) => m.platform?.architecture)).toEqual(['amd64', 'arm64']);
  }, 120_000);
});
