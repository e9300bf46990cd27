/**
 * `build` end to end with real components: a busybox base pulled from a real registry, RUN in runc,
 * COPY between stages, the cache index across builds, and the image in the content store.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { build, type BuildRequest } from '../../src/verbs/build.js';
import { parseCacheSpec } from '../../src/cache/cache-spec.js';
import { pruneState, usage } from '../../src/verbs/maintenance.js';
import { LocalContentStore } from '../../src/content/local-store.js';
import { layerCompression } from '../../src/archive/compression.js';
import { applyLayer } from '../../src/diff/applier.js';
import { parseDigest } from '../../src/digest/digest.js';
import { ImageIndex } from '../../src/images/image-index.js';
import type { ImageConfig, Manifest } from '../../src/image/oci-types.js';
import { ExecError } from '../../src/runtime/exec-error.js';
import { mountsUnder } from '../../src/runtime/mount.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { tsbuild } from '../helpers/cli.js';
import { registryAvailable, skopeoPush, useBusyboxRegistry } from '../helpers/registry.js';
import { freePort } from '../helpers/ports.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';
import { testRequest } from '../helpers/build.js';
import { projectRoot } from '../helpers/shared.js';
import { treeListing } from '../helpers/umoci.js';

const tempDir = useTempDirs('tsbuild-build-');
const busybox = useBusyboxRegistry(isRoot && registryAvailable);

function project(): { context: string; root: string } {
  const context = tempDir();
  writeFileSync(path.join(context, 'hello.txt'), 'hello\n');
  writeFileSync(path.join(context, 'unrelated.txt'), 'x\n');
  writeFileSync(
    path.join(context, 'Dockerfile'),
    [
      `FROM ${busybox.registry().host}/busybox:1 AS build`,
      'WORKDIR /src',
      'COPY hello.txt .',
      'RUN cat hello.txt > /out.txt && echo built >> /out.txt',
      `FROM ${busybox.registry().host}/busybox:1`,
      'LABEL stage=final',
      'COPY --from=build /out.txt /app/out.txt',
      'ENV GREETING=hi',
      'ENTRYPOINT ["cat"]',
      'CMD ["/app/out.txt"]',
    ].join('\n'),
  );
  return { context, root: tempDir() };
}

const request = (p: { context: string; root: string }, extra: Partial<BuildRequest> = {}): BuildRequest => testRequest(p, tempDir, extra);

async function image(
  root: string,
  digest: string,
): Promise<{ manifest: Manifest; config: ImageConfig; tree: string[]; read: (file: string) => string }> {
  const store = new LocalContentStore(root);
  const manifest = JSON.parse((await store.readBytes(parseDigest(digest))).toString()) as Manifest;
  const config = JSON.parse((await store.readBytes(parseDigest(manifest.config.digest))).toString()) as ImageConfig;
  const rootfs = tempDir();
  for (const layer of manifest.layers)
    await applyLayer(await store.reader(parseDigest(layer.digest)), rootfs, { mode: 'plain', compression: layerCompression(layer.mediaType) });
  return { manifest, config, tree: treeListing(rootfs), read: (file) => readFileSync(path.join(rootfs, file), 'utf8') };
}

describe('tsbuild build with a missing Dockerfile or context, or a bad name', () => {
  const cases: Array<[string, (dir: string) => string[], (dir: string) => string]> = [
    [
      'no Dockerfile in the context',
      (dir) => ['build', dir],
      (dir) => `error: failed to read dockerfile: open ${dir}/Dockerfile: no such file or directory\ngive its path with -f\n`,
    ],
    [
      '-f names no file',
      (dir) => ['build', '-f', `${dir}/nope/Dockerfile`, dir],
      (dir) => `error: failed to read dockerfile: open ${dir}/nope/Dockerfile: no such file or directory\ngive its path with -f\n`,
    ],
    ['no such context', (dir) => ['build', `${dir}/missing`], (dir) => `error: unable to prepare context: path "${dir}/missing" not found\n`],
    [
      'the context is a file',
      (dir) => (writeFileSync(`${dir}/file`, 'x'), ['build', `${dir}/file`]),
      (dir) =>
        `error: unable to prepare context: "${dir}/file" is not a directory\ncontexts are directories (tar and URL contexts are not supported)\n`,
    ],
    [
      '--secret names no file',
      (dir) => (writeFileSync(`${dir}/Dockerfile`, 'FROM scratch\n'), ['build', '--secret', `id=x,src=${dir}/none`, dir]),
      (dir) => `error: invalid --secret "id=x,src=${dir}/none": cannot read ${dir}/none (ENOENT)\n`,
    ],
    [
      '--platform names no platform',
      (dir) => (writeFileSync(`${dir}/Dockerfile`, 'FROM scratch\n'), ['build', '--platform', 'bogus', dir]),
      () => 'error: invalid platform "bogus": unknown operating system or architecture\ne.g. linux/amd64 or arm64\n',
    ],
    [
      '--push without a name',
      (dir) => (writeFileSync(`${dir}/Dockerfile`, 'FROM scratch\n'), ['build', '--push', dir]),
      () => 'error: push needs a name: give -t NAME or name= in --output\n',
    ],
    [
      'a bad -t name',
      (dir) => (writeFileSync(`${dir}/Dockerfile`, 'FROM scratch\n'), ['build', '-t', 'Bad Name', dir]),
      () => 'error: invalid reference "Bad Name": repository name must be lowercase\n',
    ],
  ];
  it.each(cases)('%s: one error line, exit 1, no state written', (_name, args, message) => {
    const dir = tempDir();
    const root = path.join(tempDir(), 'root');
    const result = tsbuild(['--root', root, ...args(dir)]);
    expect([result.status, result.stdout, result.stderr]).toEqual([1, '', message(dir)]);
    expect(existsSync(root)).toBe(false);
  });
});

describe.skipIf(!isRoot)('tsbuild build without a registry', () => {
  it('solves an identical step of two stages once: the second stage waits for the first', async () => {
    const context = tempDir();
    writeFileSync(path.join(context, 'a.txt'), 'a\n');
    writeFileSync(
      path.join(context, 'Dockerfile'),
      'FROM scratch AS one\nCOPY a.txt /\nFROM scratch AS two\nCOPY a.txt /\nFROM scratch\nCOPY --from=one /a.txt /one/\nCOPY --from=two /a.txt /two/\n',
    );
    const events: string[] = [];
    const result = await build({
      context,
      root: tempDir(),
      progress: { emit: (e) => void (e.type === 'step' && events.push(`${e.name} ${e.status}`)) },
    });
    expect([result.ran, result.cached]).toEqual([3, 1]);
    // Whichever stage gets there first runs it; the other reports it cached.
    expect(
      events
        .filter((e) => e.includes('COPY a.txt /'))
        .map((e) => e.split(' ').pop())
        .sort(),
    ).toEqual(['cached', 'done', 'started']);
  });

  it('a base from an unreachable registry fails the build after the snapshotter check has finished (no probe left behind)', async () => {
    const context = tempDir();
    const port = await freePort();
    writeFileSync(path.join(context, 'Dockerfile'), `FROM 127.0.0.1:${port}/none:1\nRUN true\n`);
    const root = path.join(tempDir(), 'root');
    await expect(build({ context, root })).rejects.toThrow(`127.0.0.1:${port}`);
    // The overlay check ran beside the pull: it was recorded, and its mount and directory are gone.
    expect(readFileSync(path.join(root, 'snapshotter'), 'utf8')).toBe('overlay\n');
    expect(readdirSync(path.join(root, 'tmp'))).toEqual([]);
    expect(await mountsUnder(root)).toEqual([]);
  });

  it('an abort during a large COPY stops it between files and leaves no active snapshot', async () => {
    const context = tempDir();
    // Enough small files that the copy takes many time slices (it checks the signal between them).
    for (let d = 0; d < 30; d++) {
      mkdirSync(path.join(context, 'src', `d${d}`), { recursive: true });
      for (let f = 0; f < 100; f++) writeFileSync(path.join(context, 'src', `d${d}`, `f${f}.txt`), `${d}/${f}\n`);
    }
    writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY src /src\n');
    const root = tempDir();
    const controller = new AbortController();
    const started = Date.now();
    const building = build({
      context,
      root,
      signal: controller.signal,
      progress: {
        emit: (e) => void (e.type === 'step' && e.status === 'started' && setTimeout(() => controller.abort(new Error('interrupted')), 20)),
      },
    });
    await expect(building).rejects.toThrow('interrupted');
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await new OverlaySnapshotter(root).list()).filter((s) => s.kind !== 'committed')).toEqual([]);
    expect(await mountsUnder(root)).toEqual([]);
  });

  it('copies from two stages at once (each gets its own view) and builds FROM scratch offline', async () => {
    const context = tempDir();
    writeFileSync(path.join(context, 'a.txt'), 'a\n');
    writeFileSync(path.join(context, 'b.txt'), 'b\n');
    writeFileSync(
      path.join(context, 'Dockerfile'),
      'FROM scratch AS one\nCOPY a.txt /\nFROM scratch AS two\nCOPY b.txt /\nFROM scratch\nCOPY --from=one /a.txt /out/\nCOPY --from=two /b.txt /out/\n',
    );
    const root = tempDir();
    const result = await build({ context, root });
    expect([result.ran, result.cached]).toEqual([4, 0]);
    const built = await image(root, result.digest);
    expect(built.tree).toEqual(['out dir 755 0:0', 'out/a.txt file:2 644 0:0', 'out/b.txt file:2 644 0:0']);
    expect(await mountsUnder(root)).toEqual([]);

    // prune keeps what the cache and the (unnamed) image need until --all; after it, a build runs again.
    // The untagged image is a dangling record now, so its blobs stay too.
    expect(await pruneState({ root })).toEqual({
      cacheRecords: 0,
      snapshots: 0,
      blobs: 0,
      bytes: 0,
      skipped: { cacheRecords: 0, snapshots: 0, blobs: 0 },
      corrupt: 0,
      cacheMounts: 0,
      skippedCacheMounts: 0,
      contextFiles: 0,
      reclaimed: { containers: 0, scratch: 0, snapshots: 0, orphans: 0, unrecorded: 0, ingest: 0, leases: 0, temporary: 0, tempDirs: 0 },
    });
    const before = await usage({ root });
    expect([before.cacheRecords, before.snapshots.count]).toEqual([4, 4]);
    await pruneState({ root, all: true });
    const after = await usage({ root });
    // The image itself (manifest, config, two layers) goes only with rmi, as docker's does.
    expect([after.cacheRecords, after.snapshots.count, after.blobs.count]).toEqual([0, 0, 4]);
    expect((await build({ context, root })).ran).toBe(4);
  });
});

describe.skipIf(!isRoot || !registryAvailable)('tsbuild build, end to end', () => {
  it('builds a multi-stage image with the expected config, history and files; a rebuild is all cache', async () => {
    const p = project();
    const first = await build(request(p));
    expect([first.ran, first.cached, first.tags]).toEqual([4, 0, ['docker.io/library/app:1']]);
    const built = await image(p.root, first.digest);
    expect(built.config.config).toEqual({
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'GREETING=hi'],
      Cmd: ['/app/out.txt'],
      ArgsEscaped: true,
      Entrypoint: ['cat'],
      Labels: { stage: 'final' },
      WorkingDir: '/',
    });
    expect([built.config.os, built.config.architecture, built.config.rootfs.diff_ids.length, built.manifest.layers.length]).toEqual([
      'linux',
      'amd64',
      3,
      3,
    ]);
    expect(built.config.history?.map((h) => [h.created_by, h.empty_layer ?? false])).toEqual([
      ['busybox from Debian', false],
      ['platform linux/amd64', false],
      ['LABEL stage=final', true],
      ['COPY /out.txt /app/out.txt # buildkit', false],
      ['ENV GREETING=hi', true],
      ['ENTRYPOINT ["cat"]', true],
      ['CMD ["/app/out.txt"]', true],
    ]);
    expect(built.read('app/out.txt')).toBe('hello\nbuilt\n');
    expect(built.tree.filter((l) => l.startsWith('app'))).toEqual(['app dir 755 0:0', 'app/out.txt file:12 644 0:0']);
    expect((await new ImageIndex(p.root).get('docker.io/library/app:1'))?.manifest.digest).toBe(first.digest);

    // The rebuild needs no registry: the base image is in the local store (and --pull asks again).
    const requests: string[] = [];
    const again = await build(request(p, { progress: { emit: (e) => void (e.type === 'message' && requests.push(e.text)) } }));
    expect([again.ran, again.cached, again.digest, requests]).toEqual([0, 4, first.digest, []]);
    const pulled: string[] = [];
    await build(request(p, { pull: true, progress: { emit: (e) => void (e.type === 'message' && pulled.push(e.text)) } }));
    expect(pulled).toHaveLength(1);
    expect(await mountsUnder(p.root)).toEqual([]);
    expect((await new OverlaySnapshotter(p.root).list()).filter((s) => s.kind !== 'committed')).toEqual([]);
  });

  it("runs a stage's steps while a stage it copies from later is still running", async () => {
    const p = project();
    writeFileSync(
      path.join(p.context, 'Dockerfile'),
      [
        `FROM ${busybox.registry().host}/busybox:1 AS slow`,
        'RUN sleep 1 && echo late > /late.txt',
        'FROM scratch',
        'COPY hello.txt /early/',
        'COPY --from=slow /late.txt /late/',
      ].join('\n'),
    );
    const events: string[] = [];
    const result = await build(
      request(p, { progress: { emit: (e) => void (e.type === 'step' && e.status !== 'cached' && events.push(`${e.name} ${e.status}`)) } }),
    );
    expect(result.ran).toBe(3);
    // The final stage's first COPY needs nothing from `slow`: it is done before the RUN is (the
    // whole stage used to wait for `slow`); the COPY --from waits for the RUN.
    const run = (status: string): number => events.indexOf(`[slow 2/2] RUN sleep 1 && echo late > /late.txt ${status}`);
    const step = (name: string, status: string): number => events.indexOf(`[stage-1 ${name} ${status}`);
    // The RUN and the two COPYs, started and done (the pulled FROM and the export phase show too).
    expect(events.filter((e) => /\] (RUN|COPY) /.test(e))).toHaveLength(6);
    expect([
      step('1/2] COPY hello.txt /early/', 'done') < run('done'),
      run('done') < step('2/2] COPY --from=slow /late.txt /late/', 'started'),
    ]).toEqual([true, true]);
  });

  it('reruns only the steps that read a changed file', async () => {
    const p = project();
    await build(request(p));
    writeFileSync(path.join(p.context, 'unrelated.txt'), 'changed\n');
    expect((await build(request(p))).ran).toBe(0);
    writeFileSync(path.join(p.context, 'hello.txt'), 'HELLO\n');
    const misses: string[] = [];
    const changed = await build(
      request(p, {
        progress: { emit: (e) => void (e.type === 'step' && e.status === 'started' && e.id !== 'export' && misses.push(`${e.name}: ${e.reason}`)) },
      }),
    );
    expect(misses).toEqual([
      '[build 3/4] COPY hello.txt .: the context files it reads changed',
      '[build 4/4] RUN cat hello.txt > /out.txt && echo built >> /out.txt: a previous step changed',
      '[stage-1 2/2] COPY --from=build /out.txt /app/out.txt: a stage or image it reads changed',
    ]);
    expect([changed.ran, changed.cached]).toEqual([3, 1]);
    expect((await image(p.root, changed.digest)).read('app/out.txt')).toBe('HELLO\nbuilt\n');
    expect((await build(request(p, { noCache: true }))).ran).toBe(4);
    expect((await build(request(p, { noCacheFilter: ['build'] }))).ran).toBe(3);
    // A named image keeps its manifest, config and layers through prune --all.
    const named = await build(request(p));
    await pruneState({ root: p.root, all: true });
    expect((await image(p.root, named.digest)).read('app/out.txt')).toBe('HELLO\nbuilt\n');
  });

  it('builds the multistage fixture (Docker Hub names through a mirror) for both targets', async () => {
    await skopeoPush(path.join(busybox.layouts(), 'bb'), '1', `${busybox.registry().host}/library/busybox:1.37`);
    const root = tempDir();
    const fixture = path.join(projectRoot, 'fixtures', 'dockerfiles', 'multistage');
    const base: BuildRequest = {
      context: fixture,
      root,
      buildArgs: { TAG: '1.37' },
      registriesConfig: '/nonexistent/registries.json',
      dockerConfig: tempDir(),
      registries: { mirrors: { 'docker.io': [`http://${busybox.registry().host}`] } },
    };
    const final = await build({ ...base, tags: ['multistage:final'] });
    const built = await image(root, final.digest);
    expect(built.read('out.txt')).toBe('hello world\n');
    expect(built.config.config).toMatchObject({ Entrypoint: ['/bin/sh'], ExposedPorts: { '80/tcp': {}, '443/udp': {} } });
    // ENTRYPOINT cleared the base's Cmd; an empty Cmd is not written, as BuildKit's omitempty leaves it out.
    expect(Object.keys(built.config.config)).not.toContain('Cmd');
    const test = await build({ ...base, target: 'test' });
    expect([test.ran, test.cached]).toEqual([2, 3]);
    const tested = await image(root, test.digest);
    // The unquoted heredoc was expanded when COPY wrote it.
    expect([tested.read('src/run.sh'), tested.config.config.OnBuild]).toEqual(['echo hello world\n', undefined]);
    expect(tested.config.history?.slice(-2).map((h) => h.created_by)).toEqual([
      // The stage inherits its parent's ARGs, which current BuildKit lists in the prefix too.
      'RUN |2 TAG=1.37 VERSION=1.0 /bin/sh -c echo triggered # buildkit',
      'RUN |2 TAG=1.37 VERSION=1.0 /bin/sh -c echo test # buildkit',
    ]);
  });

  it('exports the cache to a directory that a fresh state root imports instead of running the steps', async () => {
    const p = project();
    const cacheDir = tempDir();
    const first = await build(request(p, { cacheTo: cacheDir }));
    expect(first.ran).toBe(4);
    const fresh = { context: p.context, root: tempDir() };
    const imported = await build(request(fresh, { cacheFrom: [cacheDir] }));
    // The same image (config digest); its manifest names the cache's gzipped layers, not the store's uncompressed ones.
    expect([imported.ran, imported.cached, imported.config]).toEqual([0, 4, first.config]);
    expect((await image(fresh.root, imported.digest)).read('app/out.txt')).toBe('hello\nbuilt\n');
    expect(await mountsUnder(fresh.root)).toEqual([]);
  });

  it('exports the cache to a registry (mode=max: every step; mode=min: the image’s own) that a fresh state root imports', async () => {
    const p = project();
    const host = busybox.registry().host;
    const messages: string[] = [];
    const progress = { emit: (e: { type: string; text?: string }) => void (e.type === 'message' && e.text && messages.push(e.text)) };
    const first = await build(
      request(p, {
        cacheFrom: [{ type: 'registry', ref: `${host}/cache/app:max`, mode: 'max' }],
        cacheTo: { type: 'registry', ref: `${host}/cache/app:max`, mode: 'max' },
        progress,
      }),
    );
    expect(messages).toContain(
      `warning: cannot import the build cache from ${host}/cache/app:max: manifest unknown: tag max of ${host}/cache/app not found (GET http://${host}/v2/cache/app/manifests/max → 404); building without it`,
    );
    await build(request(p, { cacheTo: parseCacheSpec(`type=registry,ref=${host}/cache/app:min,mode=min`, 'to') }));
    const layersAt = async (tag: string): Promise<number> =>
      (
        JSON.parse(
          execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${host}/cache/app:${tag}`], { encoding: 'utf8' }),
        ) as Manifest
      ).layers.length;
    // The build stage's WORKDIR, COPY and RUN and the final COPY --from; min keeps only the last.
    expect([await layersAt('max'), await layersAt('min')]).toEqual([4, 1]);

    const fresh = { context: p.context, root: tempDir() };
    const imported = await build(request(fresh, { cacheFrom: [parseCacheSpec(`type=registry,ref=${host}/cache/app:max`, 'from')] }));
    // The same image (config digest); its manifest names the cache's gzipped layers, not the store's uncompressed ones.
    expect([imported.ran, imported.cached, imported.config]).toEqual([0, 4, first.config]);
    expect((await image(fresh.root, imported.digest)).read('app/out.txt')).toBe('hello\nbuilt\n');
    // With only the final step cached, the build stage runs and the final COPY is restored.
    const partial = await build(
      request({ context: p.context, root: tempDir() }, { cacheFrom: [{ type: 'registry', ref: `${host}/cache/app:min`, mode: 'max' }] }),
    );
    expect([partial.ran, partial.cached, partial.config]).toEqual([3, 1, first.config]);
    // An image that is not a cache: a warning (tested through the CLI in cache-import.test.ts), the steps run.
    const notCache = await build(
      request({ context: p.context, root: tempDir() }, { cacheFrom: [{ type: 'registry', ref: `${host}/busybox:1`, mode: 'max' }] }),
    );
    expect([notCache.ran, notCache.cached]).toEqual([4, 0]);
  });

  it('fails on a failing RUN with its exit code, leaving no mount or active snapshot', async () => {
    const p = project();
    writeFileSync(path.join(p.context, 'Dockerfile'), `FROM ${busybox.registry().host}/busybox:1\nRUN echo about to fail; exit 7\n`);
    const err = await build(request(p)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecError);
    expect((err as ExecError).message).toBe('process "/bin/sh -c echo about to fail; exit 7" did not complete successfully: exit code: 7');
    expect(await mountsUnder(p.root)).toEqual([]);
    expect((await new OverlaySnapshotter(p.root).list()).filter((s) => s.kind !== 'committed')).toEqual([]);
  });

  it('Ctrl-C during a build exits 130 and leaves no container, mount or active snapshot', async () => {
    const p = project();
    writeFileSync(path.join(p.context, 'Dockerfile'), `FROM ${busybox.registry().host}/busybox:1\nRUN echo started; sleep 60\n`);
    const env = { ...process.env, TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() };
    const child = spawn(process.execPath, ['bin/tsbuild.js', '--root', p.root, 'build', p.context], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && stderr.includes('started\n')) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect([code, stderr.trimEnd().split('\n').at(-1)]).toEqual([130, 'interrupted']);
    expect(execFileSync('runc', ['--root', path.join(p.root, 'runc', 'state'), 'list', '-q'], { encoding: 'utf8' })).toBe('');
    expect(await mountsUnder(p.root)).toEqual([]);
    expect((await new OverlaySnapshotter(p.root).list()).filter((s) => s.kind !== 'committed')).toEqual([]);
  });

  it('works from the command line: digest on stdout, progress on stderr, the image listed', () => {
    const p = project();
    mkdirSync(path.join(p.root), { recursive: true });
    const env = { TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() };
    const first = tsbuild(['--root', p.root, 'build', '-t', 'app:1', p.context], { env });
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/);
    // Steps are numbered as they show up; the final stage's FROM shows up while `build` runs.
    expect(first.stderr).toMatch(/\n#\d+ \[build 4\/4\] RUN cat hello.txt > \/out.txt && echo built >> \/out.txt \(cache miss: not built before\)\n/);
    expect(first.stderr).toContain('4 steps run, 0 cached; named docker.io/library/app:1\n');
    const second = tsbuild(['--root', p.root, 'build', '-q', '-t', 'app:1', p.context], { env });
    expect([second.stdout, second.stderr]).toEqual([first.stdout, '']);
    expect(tsbuild(['--root', p.root, 'images'], { env }).stdout).toMatch(/\napp\s+1\s+[a-f0-9]{12}\s/);
    const meta = path.join(tempDir(), 'meta.json');
    const json = tsbuild(['--root', p.root, 'build', '--progress=json', '--metadata-file', meta, '-t', 'app:1', p.context], { env });
    const events = json.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; status?: string; name?: string });
    // The two stages run side by side: each stage's steps in order, the stages interleaved.
    const steps = events.filter((e) => e.type === 'step').map((e) => `${e.status} ${e.name}`);
    expect(steps.filter((s) => s.startsWith('cached [build '))).toEqual([
      `cached [build 1/4] FROM ${busybox.registry().host}/busybox:1`,
      'cached [build 2/4] WORKDIR /src',
      'cached [build 3/4] COPY hello.txt .',
      'cached [build 4/4] RUN cat hello.txt > /out.txt && echo built >> /out.txt',
    ]);
    expect(steps.filter((s) => !s.startsWith('cached [build '))).toEqual([
      `cached [stage-1 1/2] FROM ${busybox.registry().host}/busybox:1`,
      'cached [stage-1 2/2] COPY --from=build /out.txt /app/out.txt',
      'started exporting to image',
      'done exporting to image',
    ]);
    expect(JSON.parse(readFileSync(meta, 'utf8'))).toMatchObject({
      'containerimage.config.digest': first.stdout.trim(),
      'image.name': 'docker.io/library/app:1',
      'tsbuild.steps': { ran: 0, cached: 4 },
    });
  });
});
