/**
 * What every case of the BuildKit comparison shares (`compare-cases.ts`,
 * `test/builder/buildkit-compare.test.ts`): a local registry holding the bases (`BASE`: busybox
 * with the usual top-level directories and an empty WorkingDir, like real images; `BARE`: busybox
 * alone; `LINKED`: layers written through symlinks), one HTTP server on 127.0.0.1 for `ADD <url>`
 * and `ADD <git>` (a bare repository behind `git http-backend`), the case's row type, and the small
 * writers cases build their contexts with. Dockerfiles name their base `${BASE}` (a global ARG).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { makeRepository, serveGit, type TestRepository } from './git-http.js';
import { busyboxLayer, makeLayer, writeBusyboxLayout, writeImageLayout } from './oci-image.js';
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
  /** The git repository on that server (`${url}/repo.git`) and its commits. */
  git: { url: string; repo: TestRepository };
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
  /**
   * Compare the image's and the history's `created` strings too: only where a build arg
   * (`SOURCE_DATE_EPOCH`) fixes them; elsewhere they are the moment of each build.
   */
  compareCreated?: boolean;
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

export const URL_FILE = 'served over HTTP\n';

/** Starts the registry with the bases, and the HTTP server with its files and git repository. */
export async function startCompareFixtures(): Promise<CompareFixtures> {
  const layouts = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-compare-layouts-'));
  const repo = makeRepository(path.join(layouts, 'git'));
  const registry = await startRegistry();
  const served = await serveFiles(
    {
      '/file.txt': Buffer.from(URL_FILE),
      // The same bytes on every run (and each file's ETag is its content's hash, below).
      '/t.tar.gz': execFileSync('sh', [
        '-c',
        'd=$(mktemp -d) && echo inside > $d/inside && chmod 644 $d/inside && tar -C $d --owner=0 --group=0 --mtime=@1577836800 -c inside | gzip -n && rm -r $d',
      ]),
    },
    repo.root,
  );
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
    rmSync(layouts, { recursive: true, force: true });
    throw err;
  }
  return {
    buildArgs: { BASE: `${registry.host}/base:1`, BARE: `${registry.host}/bare:1`, LINKED: `${registry.host}/linked:1` },
    url: served.url,
    git: { url: `${served.url}/repo.git`, repo },
    stop: async () => {
      await served.stop();
      await registry.stop();
      rmSync(layouts, { recursive: true, force: true });
    },
  };
}

/**
 * An HTTP server on 127.0.0.1: static files with a fixed Last-Modified, for ADD <url>, and the git
 * repositories under `gitRoot` (`/NAME.git/...`) through `git http-backend`, for ADD <git>.
 */
export async function serveFiles(files: Record<string, Buffer>, gitRoot: string): Promise<{ url: string; stop(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (/^\/[^/]+\.git\//.test(req.url ?? '')) return serveGit(gitRoot, req, res);
    const body = files[req.url ?? ''];
    if (!body) return void res.writeHead(404).end();
    // BuildKit keeps the copy it fetched before when the ETag matches (another run on the same port,
    // another checkout's fixtures): the ETag names the bytes, as a real server's does.
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
    res.writeHead(200, { 'Content-Length': body.length, 'Last-Modified': 'Wed, 01 Jan 2020 10:00:00 GMT', ETag: etag });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return { url: `http://127.0.0.1:${port}`, stop };
}

/** Writes `files` (`name: content`, `dir/: ''`, `link -> target: ''`) under `root`. */
export function write(root: string, files: Record<string, string>): void {
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

/** A tar of what `build` writes, as `name` in `context`, compressed by `compressor` ('' = plain tar). */
export function tarball(context: string, name: string, compressor: string, build: (dir: string) => void): void {
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
