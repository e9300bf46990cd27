/**
 * COPY and ADD end to end below the solver, on real overlay snapshots: the resulting trees (type,
 * size, mode, owner) and, through RUN cat, the contents.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PathEscapeError } from '../../src/archive/safe-path.js';
import { makeLayer } from '../helpers/oci-image.js';
import { freePort } from '../helpers/ports.js';
import { isRoot } from '../helpers/root.js';
import { runStage } from '../helpers/stage-runner.js';
import { useTempDirs } from '../helpers/tmp.js';
import { layerEntries } from '../helpers/layers.js';

const tempDir = useTempDirs('tsbuild-fileop-');
const stage = (dockerfile: string, context?: string, buildArgs?: Record<string, string>) =>
  runStage(dockerfile, { root: tempDir(), scratch: tempDir, ...(context ? { context } : {}), ...(buildArgs ? { buildArgs } : {}) });

function contextWith(files: Record<string, string | Buffer>): string {
  const dir = tempDir();
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

/** A tar of foo=content0 and dir/bar, compressed with `compressor` (none = plain tar). */
function tarball(dir: string, name: string, compressor?: string): void {
  const work = path.join(dir, `.work-${name}`);
  mkdirSync(path.join(work, 'dir'), { recursive: true });
  writeFileSync(path.join(work, 'foo'), 'content0');
  writeFileSync(path.join(work, 'dir', 'bar'), 'bar');
  const raw = path.join(dir, `.${name}.raw`);
  execFileSync('tar', ['-C', work, '--owner=0', '--group=0', '-cf', raw, 'foo', 'dir']);
  if (compressor) {
    execFileSync(compressor, ['-q', '-f', raw]);
    execFileSync('mv', [`${raw}.${{ gzip: 'gz', bzip2: 'bz2', xz: 'xz', zstd: 'zst' }[compressor]}`, path.join(dir, name)]);
  } else {
    execFileSync('mv', [raw, path.join(dir, name)]);
  }
  execFileSync('rm', ['-f', raw]);
  execFileSync('rm', ['-rf', work]);
}

describe.skipIf(!isRoot)('COPY and ADD on overlay snapshots', () => {
  it('copies files, expands heredocs, applies --chown names from the image and --chmod', async () => {
    const ctx = contextWith({ foo: 'hello', 'src/a.txt': 'a', 'src/sub/b.txt': 'b' });
    const run = await stage(
      [
        'FROM base',
        'ARG name=world',
        'WORKDIR /app',
        'COPY foo .',
        'COPY --chown=nobody:nogroup --chmod=0750 src/ ./src/',
        'COPY <<EOF /greeting',
        'Hello ${name}! \\$HOME stays, "quotes" too',
        'EOF',
        "COPY <<'RAW' <<EOF2 /raw/",
        '${name} is literal',
        'RAW',
        'second',
        'EOF2',
        'RUN cat /app/foo /greeting /raw/RAW /raw/EOF2',
      ].join('\n'),
      ctx,
      { name: 'tsbuild' },
    );
    expect(run.output).toBe('helloHello tsbuild! $HOME stays, "quotes" too\n${name} is literal\nsecond\n');
    expect(await run.listing('app')).toEqual([
      'foo file:5 644 0:0',
      'src dir 750 65534:65534',
      'src/a.txt file:1 750 65534:65534',
      'src/sub dir 750 65534:65534',
      'src/sub/b.txt file:1 750 65534:65534',
    ]);
  });

  it.each([
    ['t.tar', undefined],
    ['t.tar.gz', 'gzip'],
    ['t.tbz', 'bzip2'],
    ['t.txz', 'xz'],
    ['data.bin', 'zstd'],
  ])('ADD extracts %s (%s) by content, not name', async (name, compressor) => {
    const ctx = tempDir();
    tarball(ctx, name, compressor);
    const run = await stage(`FROM base\nADD ${name} /out\nRUN cat /out/foo\n`, ctx);
    expect(run.output).toBe('content0');
    expect(await run.listing('out')).toEqual(['dir dir 755 0:0', 'dir/bar file:3 644 0:0', 'foo file:8 644 0:0']);
  });

  it('copies what is not a tar as is, never extracts with COPY or --unpack=false, and applies --chown to extracted files', async () => {
    const ctx = contextWith({ 'notes.txt.gz': gzipSync('just notes'), 'empty.tar.gz': '' });
    tarball(ctx, 't.tar.gz', 'gzip');
    const run = await stage(
      'FROM base\nADD notes.txt.gz empty.tar.gz /plain/\nCOPY t.tar.gz /copied/\nADD --unpack=false t.tar.gz /raw/\nADD --chown=100:200 t.tar.gz /owned/\n',
      ctx,
    );
    const size = statSync(path.join(ctx, 't.tar.gz')).size;
    expect(await run.listing('')).toEqual(
      expect.arrayContaining([
        `copied/t.tar.gz file:${size} 644 0:0`,
        `raw/t.tar.gz file:${size} 644 0:0`,
        'plain/empty.tar.gz file:0 644 0:0',
        `plain/notes.txt.gz file:${gzipSync('just notes').length} 644 0:0`,
        'owned dir 755 100:200',
        'owned/foo file:8 644 100:200',
      ]),
    );
  });

  it.each<[string, Array<Parameters<typeof makeLayer>[0][number]>]>([
    ['.. climbing out', [{ name: '../escape', data: Buffer.from('x') }]],
    [
      'a relative symlink it made leading out, then a write through it',
      [
        { name: 'evil', type: 'symlink', linkname: '../../../../../etc' },
        { name: 'evil/pwned', data: Buffer.from('x') },
      ],
    ],
  ])('ADD refuses an archive with %s and writes nothing outside', async (_name, entries) => {
    const ctx = tempDir();
    writeFileSync(path.join(ctx, 'bad.tar.gz'), (await makeLayer(entries)).gz);
    await expect(stage('FROM base\nADD bad.tar.gz /out/\n', ctx)).rejects.toBeInstanceOf(PathEscapeError);
    expect(existsSync('/etc/pwned')).toBe(false);
  });

  it('COPY --link makes a layer of only the copied files, independent of the base', async () => {
    const ctx = contextWith({ app: 'binary' });
    const run = await stage('FROM base\nWORKDIR /var/www\nCOPY --link app .\nRUN cat /var/www/app\n', ctx);
    expect(run.output).toBe('binary');
    expect(await layerEntries(run.store, run.layers[1]?.descriptor.digest ?? '')).toEqual([
      'directory var/',
      'directory var/www/',
      'file var/www/app',
    ]);
  });

  it('COPY --link into a directory the base has keeps its mode in the layer (BuildKit: /tmp stays 1777)', async () => {
    const run = await stage('FROM base\nRUN mkdir -m 1777 /shared\nCOPY --link app /shared/\n', contextWith({ app: 'binary' }));
    expect((await run.listing('')).filter((line) => line.startsWith('shared'))).toEqual(['shared dir 1777 0:0', 'shared/app file:6 644 0:0']);
  });

  // BuildKit looks a --link --chown name up in the stage's /etc/passwd and /etc/group, not the link tree's.
  it.each([
    ['COPY --link --chown=app', 'COPY --link --chown=app app /dst/', 'dst/app file:6 644 1001:1001'],
    ['COPY --link --chown=app:staff', 'COPY --link --chown=app:staff app /dst/', 'dst/app file:6 644 1001:50'],
    ['ADD --link --chown=nobody:app', 'ADD --link --chown=nobody:app app /dst/', 'dst/app file:6 644 65534:1001'],
  ])('%s resolves the names in the stage', async (_name, copy, line) => {
    const users =
      "RUN echo 'app:x:1001:1001::/home/app:/bin/sh' >> /etc/passwd && echo 'app:x:1001:' >> /etc/group && echo 'staff:x:50:' >> /etc/group";
    const run = await stage(`FROM base\n${users}\n${copy}\n`, contextWith({ app: 'binary' }));
    expect((await run.listing('')).filter((l) => l.startsWith('dst/'))).toEqual([line]);
  });

  // With a FIFO as /etc/passwd the name is not there either: only a regular file is read (the FIFO
  // held the build for good before).
  it.each([
    ['COPY --link --chown of a name the stage lacks', 'FROM base\nCOPY --link --chown=ghost app /dst/\n'],
    ['COPY --chown on an /etc/passwd that is a FIFO', 'FROM base\nRUN rm /etc/passwd && mkfifo /etc/passwd\nCOPY --chown=ghost app /dst/\n'],
  ])('%s fails as BuildKit does', async (_name, dockerfile) => {
    await expect(stage(dockerfile, contextWith({ app: 'binary' }))).rejects.toThrow('unable to find user ghost: no matching entries in passwd file');
  });

  it('COPY --parents keeps source paths, and only the part after a /./ pivot', async () => {
    const ctx = contextWith({ 'foo1/foo2/bar': '1', 'foo1/foo2/baz': '2', 'test/a/b/c/d/e': '3' });
    const run = await stage('FROM base\nWORKDIR /test\nCOPY --parents foo1/foo2/ba* .\nCOPY --parents test/a/b/./c/d /out/\n', ctx);
    expect(await run.listing('test')).toEqual([
      'foo1 dir 755 0:0',
      'foo1/foo2 dir 755 0:0',
      'foo1/foo2/bar file:1 644 0:0',
      'foo1/foo2/baz file:1 644 0:0',
    ]);
    expect(await run.listing('out')).toEqual(['c dir 755 0:0', 'c/d dir 755 0:0', 'c/d/e file:1 644 0:0']);
  });

  it('creates no destination when every source is a wildcard matching nothing (BuildKit creates none)', async () => {
    const run = await stage('FROM base\nCOPY nomatch* /x/\nCOPY keep nomatch* /y/\n', contextWith({ keep: 'k' }));
    expect((await run.listing('')).filter((line) => /^[xy][ /]/.test(line))).toEqual(['y dir 755 0:0', 'y/keep file:1 644 0:0']);
  });

  it('WORKDIR creates its directory owned by the current USER', async () => {
    const run = await stage('FROM base\nUSER nobody\nWORKDIR /home/nobody/app\n');
    expect(await run.listing('home')).toEqual(['nobody dir 755 65534:65534', 'nobody/app dir 755 65534:65534']);
  });
});

describe.skipIf(!isRoot)('ADD from URLs and git', () => {
  let server: http.Server;
  let base: string;
  let repoCommit: string;
  let files: string;
  beforeAll(async () => {
    files = (await import('node:fs')).mkdtempSync('/tmp/tsbuild-serve-');
    writeFileSync(path.join(files, 'file.txt'), 'downloaded\n');
    // A git repository served over git's "dumb" HTTP protocol.
    const work = path.join(files, 'work');
    mkdirSync(work);
    const git = (args: string[], cwd = work): string =>
      execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { cwd, encoding: 'utf8' });
    git(['init', '-q', '-b', 'main']);
    writeFileSync(path.join(work, 'README'), 'v1\n');
    mkdirSync(path.join(work, 'sub'));
    writeFileSync(path.join(work, 'sub', 'tool.sh'), '#!/bin/sh\necho tool\n');
    chmodSync(path.join(work, 'sub', 'tool.sh'), 0o755);
    git(['add', '.']);
    git(['commit', '-qm', 'v1']);
    git(['tag', 'v1']);
    repoCommit = git(['rev-parse', 'HEAD']).trim();
    writeFileSync(path.join(work, 'README'), 'v2\n');
    git(['commit', '-qam', 'v2']);
    git(['clone', '-q', '--bare', work, path.join(files, 'repo.git')], files);
    git(['update-server-info'], path.join(files, 'repo.git'));
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/') return void res.writeHead(200).end('root');
      const file = path.join(files, decodeURIComponent(url.pathname));
      if (!file.startsWith(files) || !existsSync(file) || statSync(file).isDirectory()) return void res.writeHead(404).end();
      res.writeHead(200, { 'Last-Modified': 'Wed, 21 Oct 2015 07:28:00 GMT' }).end(readFileSync(file));
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    execFileSync('rm', ['-rf', files]);
  });

  it('downloads with mode 0600, Last-Modified as mtime, and names the file after the URL path', async () => {
    const run = await stage(
      `FROM base\nADD ${base}/file.txt /dl/\nADD ${base}/file.txt /renamed.txt\nADD ${base}/ /dl/\nRUN cat /dl/file.txt && stat -c %Y /dl/file.txt\n`,
    );
    expect(run.output).toBe('downloaded\n1445412480\n');
    expect(await run.listing('dl')).toEqual(['__unnamed__ file:4 600 0:0', 'file.txt file:11 600 0:0']);
  });

  it('verifies --checksum', async () => {
    const good = 'sha256:' + (await import('node:crypto')).createHash('sha256').update('downloaded\n').digest('hex');
    await expect(stage(`FROM base\nADD --checksum=${good} ${base}/file.txt /ok\n`)).resolves.toBeDefined();
    await expect(stage(`FROM base\nADD --checksum=sha256:${'0'.repeat(64)} ${base}/file.txt /bad\n`)).rejects.toThrow('checksum mismatch');
    await expect(stage('FROM base\nADD --checksum=sha256:abc local /x\n', contextWith({ local: 'x' }))).rejects.toThrow(
      'checksum requires HTTP(S) or Git sources',
    );
    await expect(stage(`FROM base\nCOPY ${base}/file.txt /x\n`)).rejects.toThrow("source can't be a URL for COPY");
  });

  it('checks a git repository out at a ref, without .git unless asked, with its executable bits', async () => {
    const run = await stage(
      `FROM base\nADD ${base}/repo.git#v1 /src\nADD --keep-git-dir ${base}/repo.git /head/\nRUN cat /src/README /head/README && /src/sub/tool.sh\n`,
    );
    expect(run.output).toBe('v1\nv2\ntool\n');
    const src = await run.listing('src');
    expect(src).toEqual(['README file:3 644 0:0', 'sub dir 755 0:0', 'sub/tool.sh file:20 755 0:0']);
    expect((await run.listing('head')).some((l) => l.startsWith('.git dir'))).toBe(true);
    await expect(stage(`FROM base\nADD --checksum=${repoCommit.slice(0, 12)} ${base}/repo.git#v1 /ok/\n`)).resolves.toBeDefined();
    await expect(stage(`FROM base\nADD --checksum=${'f'.repeat(12)} ${base}/repo.git#v1 /bad/\n`)).rejects.toThrow('expected checksum to match');
  });
});
