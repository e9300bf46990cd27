/**
 * The corpus both tsbuild and BuildKit build (`test/builder/buildkit-compare.test.ts`): one row
 * per case, each with a directory under `fixtures/dockerfiles/compare/` and, where files are
 * better made than stored (archives, a thousand files, a deep tree), a `prepare` step. The
 * fixtures every case shares: a local registry holding two bases (`BASE`: busybox with the usual
 * top-level directories and an empty WorkingDir, like real images; `BARE`: busybox alone;
 * `LINKED`: layers written through symlinks) and an HTTP server for `ADD <url>`. Dockerfiles name
 * their base `${BASE}` (a global ARG).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { busyboxLayer, makeLayer, writeBusyboxLayout, writeImageLayout } from './oci-image.js';
import { allTransitionsDockerfile, layerTransitionsDockerfile } from './layer-transitions.js';
import { skopeoPush, startRegistry } from './registry.js';

/** The time every context file carries, so copies of it have a time both builders must keep. */
export const CONTEXT_TIME = new Date('2020-02-02T02:02:02Z');

/** Every input's time is older than this (Unix seconds); newer times were made by a build. */
export const INPUTS_BEFORE = Date.parse('2023-01-01T00:00:00Z') / 1000;

export interface CompareFixtures {
  /** `BASE`, `BARE` and `LINKED` image references, passed to every build. */
  buildArgs: { BASE: string; BARE: string; LINKED: string };
  /** Base URL of the HTTP server (`/file.txt`, `/t.tar.gz`). */
  url: string;
  stop(): Promise<void>;
}

export interface CompareCase {
  name: string;
  /** What the case covers, for the test title and docs/compatibility.md. */
  covers: string;
  /** The fixture directory under compare/ (default: `name`). */
  dir?: string;
  target?: string;
  buildArgs?: (f: CompareFixtures) => Record<string, string>;
  /** Secrets: id → a file made under the case's work directory. */
  secrets?: (work: string) => Record<string, string>;
  /** Adds generated files to the copied context. */
  prepare?: (context: string, f: CompareFixtures) => void | Promise<void>;
  /** Why the two still differ (an issue reference): the case then runs as expected-to-fail. */
  differs?: string;
  /** Other paths whose mtime is not compared, each for a reason given where it is set. */
  untimed?: string[];
}

/** BuildKit's HEALTHCHECK history in Docker Engine 28.5 (`&{["CMD-SHELL" "x"] "30s" "0s" "0s" "0s" '\x02'}`) in the form tsbuild and later BuildKit write. */
export function modernHealthcheck(createdBy: string): string {
  const old = /^HEALTHCHECK &\{\[(.*)\] "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)" '(.*)'\}$/.exec(createdBy);
  if (!old) return createdBy;
  const [, test = '', interval, timeout, startPeriod, startInterval, retries = ''] = old;
  const words = (JSON.parse(`[${test.replace(/" "/g, '", "')}]`) as string[]).join(' ');
  const count = retries.startsWith('\\x') ? parseInt(retries.slice(2), 16) : retries.codePointAt(0);
  return `HEALTHCHECK {Test:[${words}] Interval:${interval} Timeout:${timeout} StartPeriod:${startPeriod} StartInterval:${startInterval} Retries:${count}}`;
}

const URL_FILE = 'served over HTTP\n';

/** Starts the registry with both bases and the HTTP server. */
export async function startCompareFixtures(): Promise<CompareFixtures> {
  const layouts = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-compare-layouts-'));
  const registry = await startRegistry();
  const served = await serveFiles({
    '/file.txt': Buffer.from(URL_FILE),
    // The same bytes on every run: BuildKit revalidates a URL it fetched before (same port, same
    // Last-Modified) and may keep its earlier copy.
    '/t.tar.gz': execFileSync('sh', [
      '-c',
      'd=$(mktemp -d) && echo inside > $d/inside && chmod 644 $d/inside && tar -C $d --owner=0 --group=0 --mtime=@1577836800 -c inside | gzip -n && rm -r $d',
    ]),
  });
  try {
    await writeBusyboxLayout(path.join(layouts, 'bare'), '1', ['linux/amd64']);
    await skopeoPush(path.join(layouts, 'bare'), '1', `${registry.host}/bare:1`);
    const dirs = ['dev/', 'proc/', 'sys/', 'home/', 'home/app/', 'usr/', 'usr/lib/', 'var/', 'srv/', 'srv/old/', 'opt/', 'opt/gone/'];
    const extras = await makeLayer([
      ...dirs.map((name) => ({ name, type: 'directory' as const })),
      { name: 'tmp/', type: 'directory', mode: 0o1777 },
      { name: 'root/', type: 'directory', mode: 0o700 },
      { name: 'etc/', type: 'directory' },
      {
        name: 'etc/passwd',
        data: Buffer.from('root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n'),
      },
      { name: 'etc/group', data: Buffer.from('root:x:0:\nwheel:x:10:root\napp:x:1000:\nstaff:x:50:app\nnogroup:x:65534:\n') },
      { name: 'etc/motd', data: Buffer.from('welcome\n') },
      { name: 'srv/old/keep.txt', data: Buffer.from('keep\n') },
      { name: 'srv/old/drop.txt', data: Buffer.from('drop\n') },
      { name: 'opt/gone/a', data: Buffer.from('a\n') },
      { name: 'opt/gone/b', data: Buffer.from('b\n') },
      { name: 'home/app/.profile', data: Buffer.from('export A=1\n'), uid: 1000, gid: 1000 },
    ]);
    writeImageLayout(path.join(layouts, 'base'), '1', [await busyboxLayer(), extras], {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['sh'],
      WorkingDir: '',
    });
    await skopeoPush(path.join(layouts, 'base'), '1', `${registry.host}/base:1`);
    // Layers that write through symlinks: this layer's own (lib -> usr/lib, then lib/x.so) and a
    // lower layer's (lib64 -> /usr/lib64, then lib64/y.so in the next layer).
    const own = await makeLayer([
      ...['dev/', 'proc/', 'sys/'].map((name) => ({ name, type: 'directory' as const })),
      { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
      { name: 'usr/', type: 'directory' },
      { name: 'usr/lib/', type: 'directory' },
      { name: 'lib/x.so', data: Buffer.from('x\n') },
      { name: 'lib64', type: 'symlink', linkname: '/usr/lib64' },
      { name: 'usr/lib64/', type: 'directory' },
    ]);
    const upper = await makeLayer([{ name: 'lib64/y.so', data: Buffer.from('y\n') }]);
    writeImageLayout(path.join(layouts, 'linked'), '1', [await busyboxLayer(), own, upper], { Env: ['PATH=/bin'], WorkingDir: '/' });
    await skopeoPush(path.join(layouts, 'linked'), '1', `${registry.host}/linked:1`);
  } catch (err) {
    await registry.stop();
    await served.stop();
    throw err;
  } finally {
    rmSync(layouts, { recursive: true, force: true });
  }
  return {
    buildArgs: { BASE: `${registry.host}/base:1`, BARE: `${registry.host}/bare:1`, LINKED: `${registry.host}/linked:1` },
    url: served.url,
    stop: async () => {
      await served.stop();
      await registry.stop();
    },
  };
}

/** A static HTTP server on 127.0.0.1 with a fixed Last-Modified, for ADD <url>. */
async function serveFiles(files: Record<string, Buffer>): Promise<{ url: string; stop(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const body = files[req.url ?? ''];
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Length': body.length, 'Last-Modified': 'Wed, 01 Jan 2020 10:00:00 GMT', ETag: '"fixed"' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Writes `files` (`name: content`, `dir/: ''`, `link -> target: ''`) under `root`. */
function write(root: string, files: Record<string, string>): void {
  for (const [spec, content] of Object.entries(files)) {
    const arrow = spec.indexOf(' -> ');
    const name = arrow < 0 ? spec : spec.slice(0, arrow);
    const abs = path.join(root, name);
    mkdirSync(path.dirname(abs), { recursive: true });
    if (arrow >= 0) symlinkSync(spec.slice(arrow + 4), abs);
    else if (name.endsWith('/')) mkdirSync(abs, { recursive: true });
    else writeFileSync(abs, content);
  }
}

/** The tree the .dockerignore cases filter (issue 14 item 3). */
function ignoreTree(context: string): void {
  write(context, {
    'keep.log': 'k\n',
    'secret/s': 's\n',
    'build/out/o': 'o\n',
    'build/keep.log': 'k2\n',
    'build/keep/deep/f': 'k3\n',
    'a/x/f': 'a\n',
    'x/f': 'b\n',
    'b/c/x/y/f': 'y\n',
    'b/c/z': 'z\n',
  });
  chmodSync(path.join(context, 'build'), 0o700);
}

/** A tar of what `build` writes, as `name` in `context`, compressed by `compressor` ('' = plain tar). */
function tarball(context: string, name: string, compressor: string, build: (dir: string) => void): void {
  const work = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-compare-tar-'));
  try {
    build(path.join(work, 'tree'));
    const raw = path.join(work, 'raw');
    execFileSync('tar', ['-C', path.join(work, 'tree'), '--owner=0', '--group=0', '--mtime=2019-03-03 03:03:03Z', '-cf', raw, '.']);
    if (compressor) execFileSync(compressor, ['-q', '-f', raw]);
    const suffix = compressor ? `.${{ gzip: 'gz', bzip2: 'bz2', xz: 'xz', zstd: 'zst' }[compressor] ?? compressor}` : '';
    copyFileSync(`${raw}${suffix}`, path.join(context, name));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** An archive with a hard link, a directory, and names that look like layer whiteouts. */
function archiveContent(dir: string): void {
  mkdirSync(dir, { recursive: true });
  write(dir, { 'top.txt': 'top\n', 'sub/inner.txt': 'inner\n', 'sub/.wh.hidden': 'not a whiteout\n', '.wh..wh..opq': 'nor this\n' });
  linkSync(path.join(dir, 'top.txt'), path.join(dir, 'sub', 'hard.txt'));
  chmodSync(path.join(dir, 'sub'), 0o750);
}

export const COMPARE_CASES: CompareCase[] = [
  {
    name: 'basics',
    covers:
      'multi-stage build, ENV/ARG, WORKDIR, COPY --chown/--chmod/--from, RUN with cache and bind mounts, every config instruction, ADD of a tar',
    prepare: (context) => tarball(context, 'archive.tar', '', (dir) => write(dir, { 'inside.txt': 'from the archive\n' })),
  },
  {
    name: 'basics-target',
    dir: 'basics',
    covers: '--target of a middle stage: only what it needs is built',
    target: 'test',
    prepare: (context) => tarball(context, 'archive.tar', '', (dir) => write(dir, { 'inside.txt': 'from the archive\n' })),
  },
  {
    name: 'workdir',
    covers: 'WorkingDir (issue 14 item 1): an image base keeps its empty WorkingDir; relative, chained and user-owned WORKDIRs',
  },
  {
    name: 'workdir-scratch',
    covers: 'WorkingDir (issue 14 item 1): a FROM scratch stage has WorkingDir /, and a stage on it inherits /',
  },
  {
    name: 'dockerignore',
    covers: '.dockerignore with exceptions (issue 14 item 3): secret, /build, !keep.log',
    prepare: ignoreTree,
  },
  {
    name: 'dockerignore-reinclude',
    covers: '.dockerignore re-including inside an excluded directory: build, !build/keep/deep/f, **/x, !a/x',
    prepare: ignoreTree,
    // b/c keeps z but loses its excluded x: BuildKit's transferred copy of b/c carries the time of
    // the transfer, tsbuild the context's (docs/compatibility.md, "times").
    untimed: ['app/b/c'],
  },
  {
    name: 'heredocs',
    covers: 'RUN and COPY heredocs: shell and #! bodies, <<- tabs, quoted and unquoted delimiters, several at once, --chmod',
  },
  {
    name: 'copy-paths',
    covers: 'COPY sources and destinations: wildcards, directory contents, trailing slashes, WORKDIR-relative and .., empty destination, overwriting',
    prepare: (context) =>
      write(context, {
        'a.go': 'package a\n',
        'b.go': 'package b\n',
        'c.txt': 'c\n',
        'arr[0].txt': 'bracket\n',
        'sub/x/dir2/foo': 'x\n',
        'sub/y/dir2/foo': 'y\n',
        'dir/one': '1\n',
        'dir/nested/two': '2\n',
        'dir/empty/': '',
        'unicode-ü ñ.txt': 'unicode\n',
      }),
  },
  {
    name: 'copy-flags',
    covers: 'COPY --chmod (octal and symbolic), --chown by name and number, --link, --exclude; ADD --chown',
    prepare: (context) =>
      write(context, {
        'app/main.sh': 'echo main\n',
        'app/lib/util.sh': 'echo util\n',
        'app/img/logo.png': 'png\n',
        'app/notes.md': 'notes\n',
        'plain.txt': 'plain\n',
      }),
  },
  {
    name: 'copy-link-existing-dir',
    covers: 'COPY --link into directories the base already has (/tmp 1777, /root 0700): they keep their mode and owner',
  },
  {
    name: 'symlinks',
    covers:
      'symlinks as COPY sources (followed, also through a parent and by a wildcard), kept inside directories, dangling, and as destinations in the image',
    prepare: (context) =>
      write(context, {
        'real/file.txt': 'real\n',
        'real/inner -> file.txt': '',
        'real/dangling -> nowhere': '',
        'real/abs -> /etc/motd': '',
        'link-to-file -> real/file.txt': '',
        'link-to-dir -> real': '',
        'chain -> link-to-file': '',
      }),
  },
  {
    name: 'archives',
    covers:
      'ADD of plain, gzip, bzip2, xz and zstd tars with hard links and whiteout-like names; non-archives kept; several archives into one directory; --chown',
    prepare: (context) => {
      for (const [name, compressor] of [
        ['plain.tar', ''],
        ['gzip.tgz', 'gzip'],
        ['bzip2.tar.bz2', 'bzip2'],
        ['xz.tar.xz', 'xz'],
        ['zstd.tar.zst', 'zstd'],
        ['named.bin', 'gzip'],
      ] as const)
        tarball(context, name, compressor, archiveContent);
      tarball(context, 'extra1.tar', '', (dir) => write(dir, { 'one.txt': '1\n' }));
      tarball(context, 'extra2.tar', '', (dir) => write(dir, { 'two.txt': '2\n' }));
      writeFileSync(path.join(context, 'notes.txt.gz'), execFileSync('gzip', ['-c'], { input: 'just notes\n' }));
      writeFileSync(path.join(context, 'empty.tar.gz'), '');
    },
  },
  {
    name: 'archive-symlinks',
    covers:
      'ADD of archives whose entries go through their own symlinks (issue 14 item 5): lib -> usr/lib, an absolute link, a hard link through a link',
    prepare: async (context) => {
      const entries: Parameters<typeof makeLayer>[0] = [
        { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
        { name: 'lib/libc.so', data: Buffer.from('libc\n') },
        { name: 'elsewhere', type: 'symlink', linkname: '/opt/real' },
        { name: 'elsewhere/conf', data: Buffer.from('conf\n') },
        { name: 'plain', data: Buffer.from('plain\n') },
        { name: 'elsewhere/hard', type: 'link', linkname: 'plain' },
      ];
      writeFileSync(path.join(context, 'rootfs.tar.gz'), (await makeLayer(entries)).gz);
    },
  },
  {
    name: 'base-layer-symlinks',
    covers: 'a base whose layers write through symlinks: the layer’s own are followed, a lower layer’s is hidden by a directory',
  },
  {
    name: 'add-url',
    covers: 'ADD <url>: file name from the URL, mode 0600, Last-Modified as mtime, --chmod, --checksum, archives not extracted',
    buildArgs: (f) => ({ URL: f.url, SUM: `sha256:${createHash('sha256').update(URL_FILE).digest('hex')}` }),
  },
  {
    name: 'run-mounts',
    covers: 'RUN --mount: cache (id, sharing, uid/gid/mode), tmpfs (size), bind from a stage (rw) and of the context, secret (file and env)',
    prepare: (context) => write(context, { 'src/input.txt': 'input\n' }),
    secrets: (work) => {
      mkdirSync(work, { recursive: true });
      writeFileSync(path.join(work, 'token.txt'), 's3cret');
      return { token: path.join(work, 'token.txt') };
    },
  },
  {
    name: 'run-mount-file',
    covers: 'RUN --mount=type=bind of a single file (issue 14 item 4)',
  },
  {
    name: 'run-mount-stubs',
    covers: 'RUN on a base without /dev, /proc, /sys (issue 14 item 2)',
  },
  {
    name: 'args-env',
    covers: 'ARG/ENV expansion edge cases: defaults, :- :+ # % forms, escapes, global ARGs, build-args, empty ARGs, the RUN history prefix',
    buildArgs: () => ({ OVERRIDE: 'from-cli', EMPTY: '' }),
  },
  {
    name: 'onbuild',
    covers: 'ONBUILD triggers in a stage fire in a stage built FROM it, and are stored in the image config',
  },
  {
    name: 'target-unreachable',
    covers: '--target with unreachable stages (one FROM an image that does not exist) never built',
    target: 'app',
  },
  {
    name: 'special-files',
    covers: 'files RUN makes: FIFOs, device nodes, hard links, setuid/setgid/sticky modes, empty directories, odd names',
  },
  {
    name: 'metadata-only',
    covers: 'changes to metadata only: chmod, chown, touch of base files; deletions (whiteouts) and a directory replaced (opaque)',
  },
  {
    name: 'layer-transitions',
    covers:
      'generated RUN layers turning 10 paths into files, directories, empty directories, symlinks to files and to directories, or nothing, in every order (issue 23), and changes below a replaced directory',
    prepare: (context) => writeFileSync(path.join(context, 'Dockerfile'), layerTransitionsDockerfile()),
  },
  {
    name: 'layer-transitions-all',
    covers: 'every one of the 36 transitions between those kinds (file→dir, dir→file, empty-dir→file, symlink→dir, …) in two RUN layers (issue 23)',
    prepare: (context) => writeFileSync(path.join(context, 'Dockerfile'), allTransitionsDockerfile()),
  },
  {
    name: 'many-files',
    covers: 'a 1,000-file context copied, and 1,000 files made by RUN',
    prepare: (context) => {
      for (let i = 0; i < 1000; i++) write(context, { [`files/d${i % 10}/f${i}.txt`]: `file ${i}\n`.repeat(i % 7) });
    },
  },
  {
    name: 'deep-tree',
    covers: 'a 60-level deep directory tree from the context and from RUN',
    prepare: (context) => write(context, { [`${Array.from({ length: 60 }, (_, i) => `d${i}`).join('/')}/leaf.txt`]: 'deep\n' }),
  },
  {
    name: 'users',
    covers: 'USER by name and number, WORKDIR owned by the user, COPY --chown=user:group from passwd/group, RUN as the user',
    prepare: (context) => write(context, { 'owned.txt': 'owned\n', 'dir/inner.txt': 'inner\n' }),
  },
];
