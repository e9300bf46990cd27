/**
 * Build outputs, checked with independent readers: the OCI layout (tar and directory) through
 * `skopeo inspect`/`skopeo copy` and `umoci unpack`, the docker archive through skopeo and
 * `docker load` (a private dockerd, where Debian's docker.io is installed); the root filesystem as
 * a directory and a tar; `tsbuild load` of what tsbuild and skopeo write; and bit-for-bit
 * reproducible images with SOURCE_DATE_EPOCH.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { build, type BuildRequest } from '../../src/verbs/build.js';
import { buildOutputs, checkStdoutOutputs, parseOutput, writesToStdout } from '../../src/export/output-spec.js';
import { readStoredImage } from '../../src/export/stored-image.js';
import { LocalContentStore } from '../../src/content/local-store.js';
import { ImageIndex } from '../../src/images/image-index.js';
import type { Index, Manifest } from '../../src/image/oci-types.js';
import { load } from '../../src/verbs/load.js';
import { imageHistory, inspectImage, saveImages, tagImage } from '../../src/verbs/images.js';
import { registryAvailable, useBusyboxRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';
import { testRequest } from '../helpers/build.js';
import { treeListing } from '../helpers/umoci.js';
import { tsbuild } from '../helpers/cli.js';
import { dockerdAvailable, startDockerd } from '../helpers/dockerd.js';

const tempDir = useTempDirs('tsbuild-outputs-');
const ready = isRoot && registryAvailable;
const busybox = useBusyboxRegistry(ready);

/** A context whose image has a base, a RUN layer and a COPY layer. */
function project(): { context: string; root: string } {
  const context = tempDir();
  writeFileSync(path.join(context, 'app.txt'), 'app\n');
  writeFileSync(
    path.join(context, 'Dockerfile'),
    [
      `FROM ${busybox.registry().host}/busybox:1`,
      'RUN mkdir -p /data && echo made > /data/made.txt && rm -f /bin/wget',
      'COPY app.txt /app/',
      'CMD ["cat", "/app/app.txt"]',
    ].join('\n'),
  );
  return { context, root: tempDir() };
}

const request = (p: { context: string; root: string }, extra: Partial<BuildRequest> = {}): BuildRequest => testRequest(p, tempDir, extra);

const skopeo = (...args: string[]): string => execFileSync('skopeo', args, { encoding: 'utf8' });
const tarList = (file: string): string[] => execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).trim().split('\n');

/** The files this image adds on top of busybox, as treeListing shows them. */
const ADDED = ['app dir 755 0:0', 'app/app.txt file:4 644 0:0', 'data dir 755 0:0', 'data/made.txt file:5 644 0:0'];

describe('output specs', () => {
  it.each([
    ['type=oci,dest=out.tar', { type: 'oci', dest: 'out.tar', tar: true, names: [], ociMediaTypes: true, annotations: {}, rewriteTimestamp: false }],
    [
      'type=oci,dest=dir,tar=false,name=a:1',
      { type: 'oci', dest: 'dir', tar: false, names: ['a:1'], ociMediaTypes: true, annotations: {}, rewriteTimestamp: false },
    ],
    [
      'type=docker,dest=d.tar',
      { type: 'docker', dest: 'd.tar', tar: true, names: [], ociMediaTypes: false, annotations: {}, rewriteTimestamp: false },
    ],
    [
      'type=docker,dest=d.tar,oci-mediatypes=true',
      { type: 'docker', dest: 'd.tar', tar: true, names: [], ociMediaTypes: true, annotations: {}, rewriteTimestamp: false },
    ],
    [
      'type=registry,"name=r/a:1,r/b:2"',
      { type: 'image', push: true, names: ['r/a:1', 'r/b:2'], ociMediaTypes: true, annotations: {}, rewriteTimestamp: false },
    ],
    [
      'type=image,push=true,annotation.org.example=x,rewrite-timestamp=true',
      { type: 'image', push: true, names: [], ociMediaTypes: true, annotations: { 'org.example': 'x' }, rewriteTimestamp: true },
    ],
    ['type=local,dest=out', { type: 'local', dest: 'out' }],
    ['out-dir', { type: 'local', dest: 'out-dir' }],
    ['type=tar,dest=fs.tar', { type: 'tar', dest: 'fs.tar' }],
    [
      'type=oci,dest=o,compression=zstd,compression-level=9',
      {
        type: 'oci',
        dest: 'o',
        tar: true,
        names: [],
        ociMediaTypes: true,
        annotations: {},
        rewriteTimestamp: false,
        compression: 'zstd',
        compressionLevel: 9,
      },
    ],
    // zstd and plain-tar layers exist only in OCI: the docker exporter writes OCI media types then.
    [
      'type=docker,dest=d.tar,compression=zstd',
      { type: 'docker', dest: 'd.tar', tar: true, names: [], ociMediaTypes: true, annotations: {}, rewriteTimestamp: false, compression: 'zstd' },
    ],
    [
      'type=image,compression=uncompressed,force-compression=true',
      {
        type: 'image',
        push: false,
        names: [],
        ociMediaTypes: true,
        annotations: {},
        rewriteTimestamp: false,
        compression: 'uncompressed',
        forceCompression: true,
      },
    ],
    [
      'type=docker,dest=d.tar,compression=gzip,compression-level=1',
      {
        type: 'docker',
        dest: 'd.tar',
        tar: true,
        names: [],
        ociMediaTypes: false,
        annotations: {},
        rewriteTimestamp: false,
        compression: 'gzip',
        compressionLevel: 1,
      },
    ],
  ])('%s', (spec, expected) => {
    expect(parseOutput(spec)).toEqual(expected);
  });

  it.each([
    ['type=local', 'invalid --output "type=local": type=local needs dest=PATH'],
    ['type=local,dest=-', 'invalid --output "type=local,dest=-": a directory cannot be written to stdout (dest=-)'],
    ['type=oci,dest=-,tar=false', 'invalid --output "type=oci,dest=-,tar=false": a directory cannot be written to stdout (dest=-)'],
    ['type=zip,dest=x', 'invalid --output "type=zip,dest=x": unknown type "zip"'],
    ['type=local,dest=x,tar=false', 'invalid --output "type=local,dest=x,tar=false": unknown field "tar" for type=local'],
    ['type=oci,dest=x,tar=maybe', 'invalid --output "type=oci,dest=x,tar=maybe": tar must be true or false, not "maybe"'],
    [
      'type=image,compression=estargz',
      '--output "type=image,compression=estargz": compression=estargz is not supported; use gzip, zstd or uncompressed',
    ],
    ['type=image,compression=lz4', 'invalid --output "type=image,compression=lz4": compression must be gzip, zstd or uncompressed, not "lz4"'],
    [
      'type=image,compression=zstd,compression-level=22',
      'invalid --output "type=image,compression=zstd,compression-level=22": compression-level for zstd must be 1-19, not 22',
    ],
    ['type=image,compression-level=fast', 'invalid --output "type=image,compression-level=fast": compression-level must be a number, not "fast"'],
    [
      'type=oci,dest=o,compression=zstd,oci-mediatypes=false',
      'invalid --output "type=oci,dest=o,compression=zstd,oci-mediatypes=false": compression=zstd needs OCI media types, not oci-mediatypes=false',
    ],
  ])('rejects %s', (spec, message) => {
    expect(() => parseOutput(spec)).toThrow(message);
  });

  it('--push and --annotation apply to image outputs; no -o means the image store', () => {
    expect(buildOutputs([], { push: true, annotations: ['manifest:a=1', 'b=2'] })).toEqual([
      { type: 'image', push: true, names: [], ociMediaTypes: true, annotations: { a: '1', b: '2' }, rewriteTimestamp: false },
    ]);
    expect(buildOutputs(['type=local,dest=x'], { push: true }).map((o) => o.type)).toEqual(['local', 'image']);
    expect(() => buildOutputs([], { annotations: ['index:a=1'] })).toThrow(
      'annotation "index:a=1": only manifest annotations are supported, not index',
    );
  });

  const image = { names: [], annotations: {}, rewriteTimestamp: false };
  it.each([
    // buildx: `-o -` is the root filesystem as a tar on stdout; tar and oci without dest go there too.
    ['-', { type: 'tar', dest: '-' }],
    ['type=tar,dest=-', { type: 'tar', dest: '-' }],
    ['type=tar', { type: 'tar', dest: '-' }],
    ['type=oci,dest=-', { type: 'oci', dest: '-', tar: true, ociMediaTypes: true, ...image }],
    ['type=oci', { type: 'oci', dest: '-', tar: true, ociMediaTypes: true, ...image }],
    ['type=docker,dest=-', { type: 'docker', dest: '-', tar: true, ociMediaTypes: false, ...image }],
    // A docker archive without dest goes into `docker load`, as buildx's docker exporter does.
    ['type=docker', { type: 'docker', dest: 'docker load', tar: true, load: true, ociMediaTypes: false, ...image }],
  ])('stdout and load: %s', (spec, expected) => {
    expect(parseOutput(spec)).toEqual(expected);
  });

  it('--load adds a docker load output (no image store output, as buildx), once; one output at most on stdout', () => {
    expect(buildOutputs([], { load: true })).toEqual([
      { type: 'docker', dest: 'docker load', tar: true, load: true, ociMediaTypes: false, ...image },
    ]);
    expect(buildOutputs(['type=docker'], { load: true })).toHaveLength(1);
    expect(buildOutputs(['-'], { load: true }).map((o) => o.type)).toEqual(['tar', 'docker']);
    expect(() => buildOutputs(['-', 'type=oci,dest=-'])).toThrow('multiple outputs configured to write to stdout');
  });

  it.each([
    [['-'], true, 'dest file is required for tar exporter. refusing to write to console'],
    [['type=oci,dest=-'], true, 'dest file is required for oci exporter. refusing to write to console'],
    [['type=docker,dest=-'], true, 'dest file is required for docker exporter. refusing to write to console'],
  ])('refuses %j for a terminal as buildx does', (specs, tty, message) => {
    const outputs = buildOutputs(specs);
    expect(() => checkStdoutOutputs(outputs, tty)).toThrow(message);
    expect(() => checkStdoutOutputs(outputs, false)).not.toThrow();
    expect(writesToStdout(outputs)).toBe(true);
  });

  it('a load or a file is no stdout output, even on a terminal', () => {
    for (const specs of [['type=docker'], ['type=tar,dest=x.tar'], []]) {
      expect(() => checkStdoutOutputs(buildOutputs(specs), true)).not.toThrow();
      expect(writesToStdout(buildOutputs(specs))).toBe(false);
    }
  });
});

describe('load of something that is not an archive', () => {
  it('fails in one line naming the file', async () => {
    const file = path.join(tempDir(), 'notes.txt');
    writeFileSync(file, 'x'.repeat(1024));
    await expect(load(file, { root: tempDir() })).rejects.toThrow(`${file} is not a valid tar archive: Invalid tar header`);
  });
});

describe.skipIf(!isRoot)('outputs whose destination cannot be written', () => {
  // /proc refuses new files with ENOENT (Node's recursive mkdir would retry that forever); a
  // path under a regular file is ENOTDIR.
  it.each([
    [
      'type=oci,dest=/proc/tsbuild-test.tar',
      /^error: cannot write the oci output to \/proc\/tsbuild-test\.tar: ENOENT on \/proc\/tsbuild-test\.tar\.tmp-\d+(?:\.\d+)?-[0-9a-f]{8}\n$/,
    ],
    ['type=oci,dest=/proc/tsbuild-test,tar=false', /^error: cannot write the oci output to \/proc\/tsbuild-test: ENOENT on \/proc\/tsbuild-test\n$/],
    ['type=local,dest=/proc/tsbuild-test', /^error: cannot write the local output to \/proc\/tsbuild-test: ENOENT on \/proc\/tsbuild-test\n$/],
    [
      'type=docker,dest=FILE/x.tar',
      /^error: cannot write the docker output to .*\/file\/x\.tar: ENOTDIR on .*\/file\/x\.tar\.tmp-\d+(?:\.\d+)?-[0-9a-f]{8}\n$/,
    ],
  ])('%s: one line, exit 1, the file beside it untouched', (spec, message) => {
    const context = tempDir();
    writeFileSync(path.join(context, 'a.txt'), 'a\n');
    writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY a.txt /\n');
    const file = path.join(tempDir(), 'file');
    writeFileSync(file, 'keep\n');
    const result = tsbuild(['--root', tempDir(), 'build', '-q', '-o', spec.replace('FILE', file), context], { timeout: 60_000 });
    expect([result.status, result.stderr]).toEqual([1, expect.stringMatching(message)]);
    expect(readFileSync(file, 'utf8')).toBe('keep\n');
  });

  it('save, --metadata-file and --root (build, du, prune) under /proc: one line each, exit 1', () => {
    const context = tempDir();
    writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nWORKDIR /w\n');
    const root = tempDir();
    const cli = (args: string[]): [number | null, string] => {
      const result = tsbuild(args, { timeout: 60_000 });
      return [result.status, result.stderr];
    };
    expect(cli(['--root', root, 'build', '-q', '-t', 'app:1', '--metadata-file', '/proc/tsbuild-meta.json', context])).toEqual([
      1,
      'error: cannot write --metadata-file /proc/tsbuild-meta.json: ENOENT\n',
    ]);
    expect(cli(['--root', root, 'save', '-o', '/proc/tsbuild-save.tar', 'app:1'])).toEqual([
      1,
      expect.stringMatching(
        /^error: cannot write the archive to \/proc\/tsbuild-save\.tar: ENOENT on \/proc\/tsbuild-save\.tar\.tmp-\d+(?:\.\d+)?-[0-9a-f]{8}\n$/,
      ),
    ]);
    for (const command of [['build', context], ['du'], ['prune']]) {
      expect(cli(['--root', '/proc/tsbuild-root', ...command])).toEqual([
        1,
        'error: cannot use the state root /proc/tsbuild-root: ENOENT\ngive a writable directory with --root or TSBUILD_ROOT\n',
      ]);
    }
  });

  it('--cache-to type=local under /proc: one line, exit 1', () => {
    const context = tempDir();
    writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nWORKDIR /w\n');
    const result = tsbuild(['--root', tempDir(), 'build', '-q', '--cache-to', 'type=local,dest=/proc/tsbuild-cache', context], { timeout: 60_000 });
    expect([result.status, result.stderr]).toEqual([1, 'error: cannot write the cache to /proc/tsbuild-cache: ENOENT on /proc/tsbuild-cache\n']);
  });
});

describe.skipIf(!ready)('build outputs read by skopeo, umoci and docker', () => {
  it('type=oci as a tar: skopeo sees the same manifest; as a directory: umoci unpacks the same tree as type=local and type=tar', async () => {
    const p = project();
    const out = tempDir();
    const result = await build(
      request(p, {
        outputs: buildOutputs([
          `type=oci,dest=${out}/image.tar`,
          `type=oci,dest=${out}/layout,tar=false`,
          `type=local,dest=${out}/rootfs`,
          `type=tar,dest=${out}/rootfs.tar`,
        ]),
      }),
    );
    expect(result.outputs.map((o) => [o.type, o.digest])).toEqual([
      ['oci', result.digest],
      ['oci', result.digest],
      ['local', undefined],
      ['tar', undefined],
    ]);
    // Only the layout outputs were asked for: the image store names nothing but the pulled base.
    expect((await new ImageIndex(p.root).list()).map((r) => r.name)).toEqual([`${busybox.registry().host}/busybox:1`]);

    const inspected = JSON.parse(skopeo('inspect', `oci-archive:${out}/image.tar:1`)) as { Digest: string; Layers: string[] };
    expect(inspected.Digest).toBe(result.digest);
    const manifest = JSON.parse(skopeo('inspect', '--raw', `oci:${out}/layout:1`)) as Manifest;
    expect(manifest.layers).toHaveLength(4);
    expect(inspected.Layers).toEqual(manifest.layers.map((l) => l.digest));
    const index = JSON.parse(readFileSync(path.join(out, 'layout', 'index.json'), 'utf8')) as Index;
    expect(index.manifests).toEqual([
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: result.digest,
        size: expect.any(Number) as number,
        platform: { os: 'linux', architecture: 'amd64' },
        annotations: { 'io.containerd.image.name': 'docker.io/library/app:1', 'org.opencontainers.image.ref.name': '1' },
      },
    ]);

    // skopeo copies the layout tar to a directory layout and reads the same digest back.
    skopeo('copy', '--quiet', `oci-archive:${out}/image.tar:1`, `oci:${out}/copied:1`);
    expect(JSON.parse(skopeo('inspect', `oci:${out}/copied:1`)).Digest).toBe(result.digest);

    execFileSync('umoci', ['unpack', '--image', `${out}/layout:1`, `${out}/bundle`], { stdio: 'pipe' });
    const umociTree = treeListing(path.join(out, 'bundle', 'rootfs'));
    const localTree = treeListing(path.join(out, 'rootfs'));
    expect(localTree).toEqual(umociTree);
    expect(localTree.filter((l) => /^(app|data)/.test(l))).toEqual(ADDED);
    expect(localTree.some((l) => l.startsWith('bin/wget '))).toBe(false);
    expect(localTree.some((l) => l.startsWith('bin/busybox '))).toBe(true);
    expect(readFileSync(path.join(out, 'rootfs', 'data', 'made.txt'), 'utf8')).toBe('made\n');

    const tarNames = tarList(path.join(out, 'rootfs.tar'))
      .map((n) => n.replace(/\/$/, ''))
      .sort();
    expect(tarNames).toEqual(localTree.map((l) => l.split(' ')[0]).sort());
  });

  it("compression=zstd: the build's layers become zstd (base layers too when forced); skopeo and umoci read it; tsbuild builds FROM it", async () => {
    const p = project();
    const out = tempDir();
    const gzipped = await build(request(p));
    const result = await build(
      request(p, {
        outputs: buildOutputs([
          `type=oci,dest=${out}/zstd,tar=false,compression=zstd`,
          `type=oci,dest=${out}/forced,tar=false,compression=zstd,force-compression=true`,
          `type=oci,dest=${out}/forced.tar,compression=zstd,force-compression=true`,
        ]),
      }),
    );
    const store = new LocalContentStore(p.root);
    const [zstd, forced, forcedTar] = await Promise.all(result.outputs.map((o) => readStoredImage(store, o.digest ?? '')));
    expect(forcedTar?.descriptor.digest).toBe(forced?.descriptor.digest);
    const gzip = 'application/vnd.oci.image.layer.v1.tar+gzip';
    const zst = 'application/vnd.oci.image.layer.v1.tar+zstd';
    // busybox's two layers, then the RUN and COPY layers; the config (diffIDs) is the gzip image's.
    expect(zstd?.manifest.layers.map((l) => l.mediaType)).toEqual([gzip, gzip, zst, zst]);
    expect(forced?.manifest.layers.map((l) => l.mediaType)).toEqual([zst, zst, zst, zst]);
    expect([zstd?.manifest.config.digest, forced?.manifest.config.digest]).toEqual([gzipped.config, gzipped.config]);
    // Each zstd blob decompresses (with the zstd command) to the tar its diffID names.
    for (const [i, layer] of (forced?.manifest.layers ?? []).entries()) {
      const blob = path.join(out, 'forced', 'blobs', 'sha256', layer.digest.slice(7));
      const tar = execFileSync('sh', ['-c', `zstd -dc ${blob} | sha256sum`], { encoding: 'utf8' }).split(' ')[0];
      expect(`sha256:${tar}`).toBe(forced?.config.rootfs.diff_ids[i]);
    }
    expect(JSON.parse(skopeo('inspect', `oci:${out}/zstd:1`)).Digest).toBe(zstd?.descriptor.digest);
    // Debian's umoci (0.4.7) has no zstd: skopeo decompresses the layers (recompressing them as
    // gzip), and umoci unpacks what it wrote.
    skopeo('copy', '--quiet', '--dest-compress-format', 'gzip', `oci:${out}/forced:1`, `oci:${out}/regzipped:1`);
    const regzipped = JSON.parse(skopeo('inspect', '--raw', `oci:${out}/regzipped:1`)) as Manifest;
    expect(regzipped.layers.map((l) => l.mediaType)).toEqual([gzip, gzip, gzip, gzip]);
    execFileSync('umoci', ['unpack', '--image', `${out}/regzipped:1`, `${out}/bundle`], { stdio: 'pipe' });
    expect(treeListing(path.join(out, 'bundle', 'rootfs')).filter((l) => /^(app|data)/.test(l))).toEqual(ADDED);

    // A second export converts nothing again: the same manifest, from the remembered conversions.
    const again = await build(request(p, { outputs: buildOutputs([`type=oci,dest=${out}/again,tar=false,compression=zstd`]) }));
    expect(again.outputs[0]?.digest).toBe(zstd?.descriptor.digest);

    // A fresh state root loads the all-zstd layout and builds on it (unpacking zstd layers).
    const root = tempDir();
    expect((await load(path.join(out, 'forced.tar'), { root })).map((l) => l.digest)).toEqual([forced?.descriptor.digest]);
    const next = tempDir();
    writeFileSync(path.join(next, 'Dockerfile'), 'FROM app:1\nRUN cat /app/app.txt /data/made.txt > /both.txt\n');
    const built = await build({ context: next, root, outputs: buildOutputs([`type=local,dest=${out}/next`]) });
    expect(built.ran).toBe(1);
    expect(readFileSync(path.join(out, 'next', 'both.txt'), 'utf8')).toBe('app\nmade\n');
  });

  it('type=docker: Docker media types; skopeo reads the archive', async () => {
    const p = project();
    const out = tempDir();
    const result = await build(
      request(p, { tags: ['app:1', 'localhost:5000/team/app:2'], outputs: buildOutputs([`type=docker,dest=${out}/docker.tar`]) }),
    );
    const store = new LocalContentStore(p.root);
    const image = await readStoredImage(store, result.digest);
    expect(image.descriptor.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(image.manifest.config.mediaType).toBe('application/vnd.docker.container.image.v1+json');
    expect(new Set(image.manifest.layers.map((l) => l.mediaType))).toEqual(new Set(['application/vnd.docker.image.rootfs.diff.tar.gzip']));
    const files = tarList(path.join(out, 'docker.tar'));
    expect(files.filter((f) => !f.startsWith('blobs/'))).toEqual(['oci-layout', 'index.json', 'manifest.json', 'repositories']);
    const archiveManifest = JSON.parse(execFileSync('tar', ['-xOf', path.join(out, 'docker.tar'), 'manifest.json'], { encoding: 'utf8' })) as Array<{
      RepoTags: string[];
      Config: string;
    }>;
    expect(archiveManifest.map((e) => e.RepoTags)).toEqual([['app:1', 'localhost:5000/team/app:2']]);
    expect(archiveManifest[0]?.Config).toBe(`blobs/sha256/${result.config.slice(7)}`);

    const inspected = JSON.parse(skopeo('inspect', '--config', `docker-archive:${out}/docker.tar:app:1`)) as {
      rootfs: { diff_ids: string[] };
      config: { Cmd: string[] };
    };
    expect(inspected.config.Cmd).toEqual(['cat', '/app/app.txt']);
    expect(inspected.rootfs.diff_ids).toEqual(image.config.rootfs.diff_ids);
  });

  it.skipIf(!dockerdAvailable)(
    'docker load (a private dockerd from Debian docker.io) takes the archive; the container runs',
    async () => {
      const p = project();
      const out = tempDir();
      const result = await build(request(p, { tags: ['app:1'], outputs: buildOutputs([`type=docker,dest=${out}/docker.tar`]) }));
      const dockerd = await startDockerd();
      try {
        expect(await dockerd.docker(['load', '-i', path.join(out, 'docker.tar')])).toBe('Loaded image: app:1\n');
        expect((await dockerd.docker(['image', 'inspect', 'app:1', '--format', '{{.Id}}'])).trim()).toBe(result.config);
        expect(await dockerd.docker(['run', '--rm', '--network=none', 'app:1'])).toBe('app\n');
      } finally {
        await dockerd.stop();
      }
    },
    60_000,
  );

  it('--platform is recorded in the config and in the layout entry (a COPY-only build for another architecture)', async () => {
    const context = tempDir();
    writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nARG TARGETPLATFORM\nCOPY Dockerfile /built-for-$TARGETPLATFORM\n');
    const out = tempDir();
    const result = await build({
      context,
      root: tempDir(),
      platform: 'linux/arm64/v8',
      tags: ['multi:1'],
      outputs: buildOutputs([`type=oci,dest=${out},tar=false`, `type=local,dest=${out}/rootfs`]),
    });
    const inspected = JSON.parse(skopeo('inspect', '--config', `oci:${out}:1`)) as { architecture: string; os: string; variant?: string };
    // arm64/v8 is normalised to plain arm64, as containerd's platforms (and so BuildKit) do.
    expect([inspected.os, inspected.architecture, inspected.variant]).toEqual(['linux', 'arm64', undefined]);
    const index = JSON.parse(readFileSync(path.join(out, 'index.json'), 'utf8')) as Index;
    expect(index.manifests.map((m) => [m.digest, m.platform])).toEqual([[result.digest, { os: 'linux', architecture: 'arm64' }]]);
    expect(treeListing(path.join(out, 'rootfs')).map((l) => l.split(' ')[0])).toEqual(['built-for-linux', 'built-for-linux/arm64']);
  });

  it('builds share one layout directory; a name written again moves to the new image', async () => {
    const p = project();
    const layout = path.join(tempDir(), 'shared');
    const first = await build(request(p, { tags: ['app:1'], outputs: buildOutputs([`type=oci,dest=${layout},tar=false`]) }));
    writeFileSync(path.join(p.context, 'app.txt'), 'changed\n');
    const second = await build(request(p, { tags: ['app:2'], outputs: buildOutputs([`type=oci,dest=${layout},tar=false`]) }));
    const third = await build(request(p, { tags: ['app:1'], outputs: buildOutputs([`type=oci,dest=${layout},tar=false`]) }));
    expect(second.digest).not.toBe(first.digest);
    expect(third.digest).toBe(second.digest);
    const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as Index;
    expect(index.manifests.map((m) => [m.annotations?.['org.opencontainers.image.ref.name'], m.digest])).toEqual([
      ['2', second.digest],
      ['1', second.digest],
    ]);
    expect(JSON.parse(skopeo('inspect', `oci:${layout}:2`)).Digest).toBe(second.digest);
  });

  it('annotations and oci-mediatypes=false make variants over the same blobs; labels land in the config', async () => {
    const p = project();
    const result = await build(
      request(p, {
        labels: { 'org.example.team': 'build' },
        outputs: buildOutputs(['type=image'], { annotations: ['org.opencontainers.image.source=https://example.com/app'] }),
      }),
    );
    const store = new LocalContentStore(p.root);
    const image = await readStoredImage(store, result.digest);
    expect(image.manifest.annotations).toEqual({ 'org.opencontainers.image.source': 'https://example.com/app' });
    expect(image.config.config?.Labels).toEqual({ 'org.example.team': 'build' });
    const docker = await build(request(p, { labels: { 'org.example.team': 'build' }, outputs: buildOutputs(['type=image,oci-mediatypes=false']) }));
    const dockerImage = await readStoredImage(store, docker.digest);
    expect(docker.digest).not.toBe(result.digest);
    expect(dockerImage.manifest.config.digest).toBe(image.manifest.config.digest);
    expect(dockerImage.manifest.layers.map((l) => l.digest)).toEqual(image.manifest.layers.map((l) => l.digest));
    expect((await new ImageIndex(p.root).get('docker.io/library/app:1'))?.manifest.digest).toBe(docker.digest);
  });

  it('the same Dockerfile with the same SOURCE_DATE_EPOCH in two directories and state roots gives the same digest', async () => {
    const digests: string[] = [];
    for (let i = 0; i < 2; i++) {
      const p = project();
      const result = await build(
        request(p, { buildArgs: { SOURCE_DATE_EPOCH: '1700000000' }, outputs: buildOutputs(['type=image,rewrite-timestamp=true']) }),
      );
      digests.push(result.digest);
      const image = await readStoredImage(new LocalContentStore(p.root), result.digest);
      expect(image.config.created).toBe('2023-11-14T22:13:20Z');
      // Wait a second so file times differ between the two builds unless clamped.
      await new Promise((resolve) => setTimeout(resolve, 1100));
    }
    expect(digests[1]).toBe(digests[0]);
    const p = project();
    await expect(build(request(p, { outputs: buildOutputs(['type=image,rewrite-timestamp=true']) }))).rejects.toThrow(
      'rewrite-timestamp=true needs SOURCE_DATE_EPOCH',
    );
  });

  // BuildKit writes the epoch into every entry the build adds, config-only ones right after FROM
  // included; the base's entries keep their own times.
  it('SOURCE_DATE_EPOCH is the created time of every new history entry, an ARG and ENV right after FROM too', async () => {
    const p = project();
    writeFileSync(path.join(p.context, 'Dockerfile'), `FROM ${busybox.registry().host}/busybox:1\nARG SOURCE_DATE_EPOCH\nENV A=1\n`);
    const result = await build(request(p, { buildArgs: { SOURCE_DATE_EPOCH: '1700000000' } }));
    const image = await readStoredImage(new LocalContentStore(p.root), result.digest);
    expect([image.config.created, ...(image.config.history ?? []).map((h) => `${h.created_by ?? ''} ${h.created ?? ''}`)]).toEqual([
      '2023-11-14T22:13:20Z',
      'busybox from Debian 2024-01-01T00:00:00Z',
      'platform linux/amd64 2024-01-01T00:00:00Z',
      'ARG SOURCE_DATE_EPOCH=1700000000 2023-11-14T22:13:20Z',
      'ENV A=1 2023-11-14T22:13:20Z',
    ]);
  });
});

describe.skipIf(!ready)('layers kept uncompressed in the store, gzipped once when they leave it', () => {
  it('the store holds the build’s layers as plain tars (digest = diffID); an OCI archive gets them gzipped, the base’s as pulled; a second export converts nothing', async () => {
    const p = project();
    const out = tempDir();
    const result = await build(request(p, { buildArgs: { SOURCE_DATE_EPOCH: '1700000000' } }));
    const store = new LocalContentStore(p.root);
    const stored = await readStoredImage(store, result.digest);
    const diffIDs = stored.config.rootfs.diff_ids;
    // busybox's two layers as pulled (gzip), then the RUN and COPY layers as tars.
    expect(stored.manifest.layers.map((l) => l.mediaType)).toEqual([
      'application/vnd.oci.image.layer.v1.tar+gzip',
      'application/vnd.oci.image.layer.v1.tar+gzip',
      'application/vnd.oci.image.layer.v1.tar',
      'application/vnd.oci.image.layer.v1.tar',
    ]);
    expect(stored.manifest.layers.slice(2).map((l) => l.digest)).toEqual(diffIDs.slice(2));

    const exported = async (name: string): Promise<Manifest> => {
      await build(request(p, { buildArgs: { SOURCE_DATE_EPOCH: '1700000000' }, outputs: buildOutputs([`type=oci,dest=${out}/${name}`]) }));
      const index = JSON.parse(execFileSync('tar', ['-xOf', `${out}/${name}`, 'index.json'], { encoding: 'utf8' })) as Index;
      const digest = (index.manifests[0]?.digest ?? '').slice(7);
      return JSON.parse(execFileSync('tar', ['-xOf', `${out}/${name}`, `blobs/sha256/${digest}`], { encoding: 'utf8' })) as Manifest;
    };
    const first = await exported('a.tar');
    expect(first.layers.map((l) => l.mediaType)).toEqual(Array(4).fill('application/vnd.oci.image.layer.v1.tar+gzip'));
    expect(first.layers.slice(0, 2).map((l) => l.digest)).toEqual(stored.manifest.layers.slice(0, 2).map((l) => l.digest));
    // Each gzipped layer holds the tar the config names.
    for (const [i, layer] of first.layers.entries()) {
      const tar = gunzipSync(execFileSync('tar', ['-xOf', `${out}/a.tar`, `blobs/sha256/${layer.digest.slice(7)}`], { maxBuffer: 1 << 26 }));
      expect(`sha256:${createHash('sha256').update(tar).digest('hex')}`).toBe(diffIDs[i]);
    }
    // The conversion is remembered: exporting again writes the same archive and no new blob.
    const blobs = readdirSync(path.join(p.root, 'blobs', 'sha256')).length;
    expect(await exported('b.tar')).toEqual(first);
    expect(readdirSync(path.join(p.root, 'blobs', 'sha256')).length).toBe(blobs);
    expect(readFileSync(`${out}/b.tar`).equals(readFileSync(`${out}/a.tar`))).toBe(true);
  });
});

describe.skipIf(!ready)('save, load, tag, inspect and history', () => {
  it('load takes back what save and the outputs write, and what skopeo writes', async () => {
    const p = project();
    const out = tempDir();
    const result = await build(request(p, { outputs: buildOutputs(['type=image', `type=oci,dest=${out}/oci.tar`]) }));
    expect(await tagImage('app:1', 'registry.example/app:v2', { root: p.root })).toBe('registry.example/app:v2');
    await saveImages(['app:1', 'registry.example/app:v2'], `${out}/saved.tar`, 'docker', { root: p.root });
    expect(JSON.parse(execFileSync('tar', ['-xOf', `${out}/saved.tar`, 'manifest.json'], { encoding: 'utf8' }))).toEqual([
      { Config: `blobs/sha256/${result.config.slice(7)}`, RepoTags: ['app:1', 'registry.example/app:v2'], Layers: expect.any(Array) as unknown[] },
    ]);

    // The store keeps the build's layers uncompressed; both archives carry them gzipped, the same
    // bytes, so they load as one manifest (another than the store's) of the same image id.
    const fresh = tempDir();
    const [fromOci] = await load(`${out}/oci.tar`, { root: fresh });
    expect(fromOci?.names).toEqual(['docker.io/library/app:1']);
    expect(fromOci?.digest).not.toBe(result.digest);
    expect(await load(`${out}/saved.tar`, { root: fresh })).toEqual([
      { digest: fromOci?.digest, names: ['docker.io/library/app:1', 'registry.example/app:v2'] },
    ]);
    expect((await inspectImage('app:1', { root: fresh })).manifest.config.digest).toBe(result.config);
    // skopeo's docker-archive is the legacy form (uncompressed layer tars named by path).
    skopeo('copy', '--quiet', `oci-archive:${out}/oci.tar:1`, `docker-archive:${out}/skopeo.tar:skopeo/app:3`);
    const [fromSkopeo] = await load(`${out}/skopeo.tar`, { root: fresh });
    expect(fromSkopeo?.names).toEqual(['docker.io/skopeo/app:3']);
    const inspected = await inspectImage('skopeo/app:3', { root: fresh });
    expect(inspected.config.rootfs.diff_ids).toEqual((await inspectImage('app:1', { root: p.root })).config.rootfs.diff_ids);
    expect(inspected.manifest.layers.map((l) => l.mediaType)).toEqual(Array(4).fill('application/vnd.oci.image.layer.v1.tar'));
    const rootfs = path.join(tempDir(), 'rootfs');
    const cli = tsbuild(['--root', fresh, 'build', '--help']);
    expect(cli.status).toBe(0);
    // What was loaded is usable as a base: build FROM it without any registry.
    const ctx = tempDir();
    writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM skopeo/app:3\nRUN cat /app/app.txt /data/made.txt > /both.txt\n');
    await build({ context: ctx, root: fresh, outputs: buildOutputs([`type=local,dest=${rootfs}`]) });
    expect(readFileSync(path.join(rootfs, 'both.txt'), 'utf8')).toBe('app\nmade\n');
  });

  it('history lists the config history newest first with layer sizes; the CLI prints it', async () => {
    const p = project();
    const result = await build(request(p));
    const history = await imageHistory('app:1', { root: p.root });
    const image = await readStoredImage(new LocalContentStore(p.root), result.digest);
    expect(history.map((h) => h.created_by)).toEqual([...(image.config.history ?? [])].reverse().map((h) => h.created_by));
    // CMD made no layer; COPY, RUN and the two base layers did.
    expect(history.map((h) => h.size)).toEqual([0, ...image.manifest.layers.map((l) => l.size).reverse()]);
    const cli = tsbuild(['--root', p.root, 'history', '--no-trunc', 'app:1']);
    expect(cli.status).toBe(0);
    expect(cli.stdout.split('\n')[0]).toMatch(/^CREATED\s+CREATED BY\s+SIZE\s+COMPRESSED\s+COMMENT$/);
    expect(cli.stdout).toContain('RUN /bin/sh -c mkdir -p /data && echo made > /data/made.txt && rm -f /bin/wget # buildkit');
    const inspect = tsbuild(['--root', p.root, 'inspect', result.config.slice(7, 19)]);
    expect(JSON.parse(inspect.stdout).digest).toBe(result.digest);
    const rmi = tsbuild(['--root', p.root, 'rmi', 'app:1']);
    expect([rmi.status, rmi.stdout]).toEqual([0, 'Untagged: docker.io/library/app:1\n']);
    const again = tsbuild(['--root', p.root, 'rmi', 'app:1']);
    expect([again.status, again.stderr]).toEqual([1, 'error: no image named docker.io/library/app:1 in the local store\nsee tsbuild images\n']);
  });
});
