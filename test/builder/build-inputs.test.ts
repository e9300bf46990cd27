/**
 * The inputs CI scripts give `docker buildx build`, against the real thing: git contexts from a
 * `git daemon` on 127.0.0.1 (shallow fetch, ref and subdirectory, `.git` kept only when asked, the
 * commit as the cache's anchor), archive and Dockerfile URLs from a local HTTP server (with a
 * hostile archive), a context and a Dockerfile on stdin, and named contexts of every kind. The base
 * image is busybox in an OCI layout given as a named context, so no registry is needed.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { Readable } from 'node:stream';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, type BuildRequest } from '../../src/verbs/build.js';
import { hostPlatform } from '../../src/state/host-platform.js';
import { formatPlatform } from '../../src/image/platform.js';
import { tsbuild, tsbuildAsync } from '../helpers/cli.js';
import { modernBuildKitAvailable, modernDockerHost } from '../helpers/dockerd.js';
import { writeBusyboxLayout } from '../helpers/oci-image.js';
import { freePort } from '../helpers/ports.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';
import { testRequest } from '../helpers/build.js';

const tempDir = useTempDirs('tsbuild-inputs-');
const git = (args: string[], cwd: string): string =>
  execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { cwd, encoding: 'utf8' }).trim();

/** The file's own directory: the busybox layout and the state root its builds share. */
const fileDir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-inputs-file-'));
const fixed = { layout: () => path.join(fileDir, 'bb'), root: () => path.join(fileDir, 'root') };
let dirCount = 0;
/** A directory living as long as the file's tests (servers' content). */
function tempDirOnce(): string {
  const dir = path.join(fileDir, `d${dirCount++}`);
  mkdirSync(dir);
  return dir;
}
afterAll(() => rmSync(fileDir, { recursive: true, force: true }));

const base = (): string => `oci-layout://${fixed.layout()}:1`;
const request = (context: string, extra: Partial<BuildRequest> = {}): BuildRequest =>
  testRequest({ context, root: fixed.root() }, tempDir, { buildContexts: { base: base() }, ...extra });

describe.skipIf(!isRoot)('build inputs', () => {
  beforeAll(async () => {
    await writeBusyboxLayout(fixed.layout(), '1', [formatPlatform(hostPlatform())]);
  }, 60_000);

  describe('a git context from a git daemon', () => {
    let daemon: ChildProcess | undefined;
    let url = '';
    const commits: Record<string, string> = {};
    beforeAll(async () => {
      const served = tempDirOnce();
      const work = path.join(served, 'work');
      mkdirSync(path.join(work, 'app'), { recursive: true });
      git(['init', '-q', '-b', 'main'], work);
      writeFileSync(path.join(work, 'app', 'Dockerfile'), 'FROM base\nCOPY . /ctx\nRUN cat /ctx/msg > /out.txt && ls -a /ctx > /listing\n');
      writeFileSync(path.join(work, 'app', 'msg'), 'one\n');
      writeFileSync(path.join(work, 'Dockerfile'), 'FROM scratch\nCOPY . /\n');
      git(['add', '.'], work);
      git(['commit', '-qm', 'one'], work);
      git(['tag', 'v1'], work);
      commits.v1 = git(['rev-parse', 'HEAD'], work);
      writeFileSync(path.join(work, 'app', 'msg'), 'two\n');
      git(['commit', '-qam', 'two'], work);
      commits.main = git(['rev-parse', 'HEAD'], work);
      git(['clone', '-q', '--bare', work, path.join(served, 'repo.git')], served);
      const port = await freePort();
      daemon = spawn('git', ['daemon', '--reuseaddr', '--export-all', `--base-path=${served}`, '--listen=127.0.0.1', `--port=${port}`, served], {
        stdio: 'ignore',
      });
      url = `git://127.0.0.1:${port}/repo.git`;
      for (let i = 0; i < 100; i++) {
        try {
          execFileSync('git', ['ls-remote', url], { stdio: 'ignore' });
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      throw new Error('git daemon did not start');
    }, 60_000);
    afterAll(() => {
      daemon?.kill();
    });

    it('checks the ref out in the subdirectory, without .git; the same commit is all cached', async () => {
      const out = tempDir();
      const first = await build(request(`${url}#v1:app`, { outputs: [{ type: 'local', dest: out }] }));
      expect(first.contextCommit).toBe(commits.v1);
      expect(readFileSync(path.join(out, 'out.txt'), 'utf8')).toBe('one\n');
      expect(readFileSync(path.join(out, 'listing'), 'utf8')).toBe('.\n..\nDockerfile\nmsg\n');
      expect([first.ran, first.cached]).toEqual([2, 0]);
      const again = await build(request(`${url}#v1:app`, { outputs: [{ type: 'local', dest: tempDir() }] }));
      expect([again.ran, again.cached, again.digest]).toEqual([0, 2, first.digest]);
      const main = await build(request(`${url}#main:app`, { outputs: [{ type: 'local', dest: out }] }));
      expect(main.contextCommit).toBe(commits.main);
      expect(readFileSync(path.join(out, 'out.txt'), 'utf8')).toBe('two\n');
    });

    it('keeps a shallow .git with BUILDKIT_CONTEXT_KEEP_GIT_DIR=1', async () => {
      const out = tempDir();
      const result = await build(
        request(url, { buildArgs: { BUILDKIT_CONTEXT_KEEP_GIT_DIR: '1' }, buildContexts: {}, outputs: [{ type: 'local', dest: out }] }),
      );
      expect(result.contextCommit).toBe(commits.main);
      // One commit fetched: the shallow boundary is the commit itself.
      expect(readFileSync(path.join(out, '.git', 'shallow'), 'utf8')).toBe(`${commits.main}\n`);
      expect(readFileSync(path.join(out, 'app', 'msg'), 'utf8')).toBe('two\n');
    });

    it('names a missing ref in one line', async () => {
      await expect(build(request(`${url}#nope`))).rejects.toThrow(`repository ${url} does not contain ref nope`);
    });

    it('serves a named context (git) to COPY --from', async () => {
      const context = tempDir();
      writeFileSync(path.join(context, 'Dockerfile'), 'FROM base\nCOPY --from=src /app/msg /msg\n');
      const out = tempDir();
      await build(request(context, { buildContexts: { base: base(), src: `${url}#v1` }, outputs: [{ type: 'local', dest: out }] }));
      expect(readFileSync(path.join(out, 'msg'), 'utf8')).toBe('one\n');
    });
  });

  describe('URL contexts from a local HTTP server', () => {
    let server: http.Server | undefined;
    let origin = '';
    const files: Record<string, Buffer> = {};
    beforeAll(async () => {
      const ctx = tempDirOnce();
      writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM base\nCOPY greeting /\nRUN cat /greeting > /out.txt\n');
      writeFileSync(path.join(ctx, 'greeting'), 'from a tarball\n');
      files['/ctx.tar.gz'] = execFileSync('tar', ['-cz', '-C', ctx, '.']);
      files['/Dockerfile'] = Buffer.from('FROM base\nRUN echo dockerfile-only > /out.txt\n');
      // A hostile archive: an entry climbing out of the context.
      const evil = tempDirOnce();
      writeFileSync(path.join(evil, 'x'), 'x');
      files['/evil.tar'] = execFileSync('tar', ['-c', '-C', evil, '--transform', 's,^,../../,', 'x']);
      server = http.createServer((req, res) => {
        const body = files[req.url ?? ''];
        res.writeHead(body ? 200 : 404).end(body ?? 'not found');
      });
      await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
      origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    afterAll(() => {
      server?.close();
    });

    it.each([
      ['/ctx.tar.gz', 'from a tarball\n'],
      ['/Dockerfile', 'dockerfile-only\n'],
    ])('builds %s from the command line', async (file, expected) => {
      const out = tempDir();
      const result = await tsbuildAsync([
        '--root',
        fixed.root(),
        'build',
        '--build-context',
        `base=${base()}`,
        '-o',
        `type=local,dest=${out}`,
        `${origin}${file}`,
      ]);
      expect(result.status, result.stderr).toBe(0);
      expect(readFileSync(path.join(out, 'out.txt'), 'utf8')).toBe(expected);
    });

    it.each([
      ['/evil.tar', 'error: refusing archive entry "../../x": it climbs out of the destination with ".."\n'],
      ['/missing.tar', 'error: unable to prepare context: ORIGIN/missing.tar: HTTP 404 Not Found\n'],
    ])('refuses %s in one line', async (file, message) => {
      const result = await tsbuildAsync(['--root', fixed.root(), 'build', `${origin}${file}`]);
      expect([result.status, result.stderr]).toEqual([1, message.replace('ORIGIN', origin)]);
    });

    it('gives a named https context as the single file "context"', async () => {
      const context = tempDir();
      writeFileSync(path.join(context, 'Dockerfile'), 'FROM base\nRUN --mount=from=remote,target=/r cat /r/context > /out.txt\n');
      const out = tempDir();
      await build(request(context, { buildContexts: { base: base(), remote: `${origin}/Dockerfile` }, outputs: [{ type: 'local', dest: out }] }));
      expect(readFileSync(path.join(out, 'out.txt'), 'utf8')).toBe(files['/Dockerfile']?.toString());
    });
  });

  describe('stdin', () => {
    const context = (): string => {
      const dir = tempDir();
      writeFileSync(path.join(dir, 'Dockerfile'), 'FROM base\nCOPY note /\n');
      writeFileSync(path.join(dir, 'note'), 'from the tar\n');
      return dir;
    };
    const run = (args: string[], input: string | Buffer): { status: number | null; stderr: string; out: string } => {
      const out = tempDir();
      const result = tsbuild(['--root', fixed.root(), 'build', '--build-context', `base=${base()}`, '-o', `type=local,dest=${out}`, ...args], {
        input,
      });
      return { status: result.status, stderr: result.stderr, out };
    };

    it('takes the context as a tar on stdin', () => {
      const result = run(['-'], execFileSync('tar', ['-c', '-C', context(), '.']));
      expect(result.status, result.stderr).toBe(0);
      expect(readFileSync(path.join(result.out, 'note'), 'utf8')).toBe('from the tar\n');
    });

    it('takes a Dockerfile alone on stdin (an empty context), as docker does', () => {
      const result = run(['-'], 'FROM base\nRUN echo alone > /alone\n');
      expect(result.status, result.stderr).toBe(0);
      expect(readFileSync(path.join(result.out, 'alone'), 'utf8')).toBe('alone\n');
    });

    it.each([['-f', '-'], ['-f-']])('takes the Dockerfile from stdin with %s and the context from the directory', (...flag) => {
      const result = run([...flag, context()], 'FROM base\nCOPY note /copied\n');
      expect(result.status, result.stderr).toBe(0);
      expect(readFileSync(path.join(result.out, 'copied'), 'utf8')).toBe('from the tar\n');
    });

    it('calls a Dockerfile from stdin "Dockerfile" in checks and errors, as BuildKit does', () => {
      const check = tsbuild(['--root', fixed.root(), 'build', '--check', '-f', '-', context()], { input: 'FROM base AS Build\n' });
      expect(check.stdout).toContain("Stage name 'Build' should be lowercase\nDockerfile:1\n");
      const broken = tsbuild(['--root', fixed.root(), 'build', '-f', '-', context()], { input: 'FROM base\nCOPY\n' });
      expect([broken.status, broken.stderr.split('\n')[0]]).toEqual([
        1,
        'error: Dockerfile:2:1: COPY requires at least two arguments, but only one was provided. Destination could not be determined',
      ]);
    });

    it('takes a tar stream as the context from the library (stdin option)', async () => {
      const out = tempDir();
      const tar = Readable.from([execFileSync('tar', ['-c', '-C', context(), '.'])]);
      const result = await build(request('-', { stdin: tar, outputs: [{ type: 'local', dest: out }] }));
      expect(readFileSync(path.join(out, 'note'), 'utf8')).toBe('from the tar\n');
      expect(result.contextCommit).toBeUndefined();
    });

    it('refuses stdin for both, in one line', () => {
      const result = run(['-f', '-', '-'], '');
      expect([result.status, result.stderr]).toEqual([1, "error: invalid argument: can't use stdin for both build context and dockerfile\n"]);
    });
  });

  describe('named contexts', () => {
    it('replace a stage of their name, and serve COPY --from and RUN --mount from', async () => {
      const deps = tempDir();
      writeFileSync(path.join(deps, 'lib.txt'), 'library\n');
      writeFileSync(path.join(deps, 'ignored.txt'), 'ignored\n');
      writeFileSync(path.join(deps, '.dockerignore'), 'ignored.txt\n');
      const tools = tempDir();
      writeFileSync(path.join(tools, 'tool.sh'), 'echo tool ran\n');
      const context = tempDir();
      writeFileSync(
        path.join(context, 'Dockerfile'),
        [
          'FROM base AS deps',
          'RUN echo must not run > /x',
          'FROM base',
          'COPY --from=deps / /deps/',
          'RUN --mount=from=tools,target=/t sh /t/tool.sh > /tool.out',
        ].join('\n'),
      );
      const out = tempDir();
      const result = await build(request(context, { buildContexts: { base: base(), deps, tools }, outputs: [{ type: 'local', dest: out }] }));
      expect(readFileSync(path.join(out, 'tool.out'), 'utf8')).toBe('tool ran\n');
      expect(readFileSync(path.join(out, 'deps', 'lib.txt'), 'utf8')).toBe('library\n');
      expect(existsSync(path.join(out, 'deps', 'ignored.txt'))).toBe(false);
      expect(existsSync(path.join(out, 'deps', 'x'))).toBe(false);
      expect(result.plan.stages.map((s) => s.steps.length)).toEqual([1, 3]);
    });

    it('docker-image:// resolves like FROM (here: an image in the local store), oci-layout:// by tag or digest', async () => {
      const context = tempDir();
      writeFileSync(path.join(context, 'Dockerfile'), 'FROM base\nRUN echo made > /made\n');
      const made = await build(request(context, { tags: ['inputs-base:1'] }));
      writeFileSync(path.join(context, 'Dockerfile'), 'FROM docker.io/library/base:latest\nRUN cat /made > /again\n');
      const out = tempDir();
      const result = await build(
        request(context, { buildContexts: { base: 'docker-image://inputs-base:1' }, outputs: [{ type: 'local', dest: out }] }),
      );
      expect(readFileSync(path.join(out, 'again'), 'utf8')).toBe('made\n');
      expect(result.plan.stages[0]?.base).toEqual({ kind: 'image', ref: 'inputs-base:1' });
      expect(made.digest).toMatch(/^sha256:/);
      const index = JSON.parse(readFileSync(path.join(fixed.layout(), 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
      const digest = index.manifests[0]?.digest ?? '';
      expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
      // The layout's own busybox has no /made: the base is the layout's image, found by digest.
      writeFileSync(path.join(context, 'Dockerfile'), 'FROM base\nRUN test -e /made || echo absent > /absent\n');
      const byDigest = tempDir();
      await build(
        request(context, { buildContexts: { base: `oci-layout://${fixed.layout()}@${digest}` }, outputs: [{ type: 'local', dest: byDigest }] }),
      );
      expect(readFileSync(path.join(byDigest, 'absent'), 'utf8')).toBe('absent\n');
    });

    it.each([
      [{ Base: '/x' }, 'invalid --build-context "Base=/x": invalid context name Base'],
      [{ base: 'target:other' }, '--build-context "base=target:other": target: contexts exist only in buildx bake'],
      [{ base: '/nonexistent/dir' }, '--build-context base: directory /nonexistent/dir not found'],
      [{ base: 'oci-layout:///nonexistent/layout:1' }, '--build-context base=oci-layout:///nonexistent/layout: not an OCI layout (no index.json)'],
    ])('refuses %j in one line', async (contexts, message) => {
      const context = tempDir();
      writeFileSync(path.join(context, 'Dockerfile'), 'FROM base\n');
      await expect(build(request(context, { buildContexts: contexts }))).rejects.toThrow(message);
    });
  });

  describe.skipIf(!modernBuildKitAvailable)('named contexts beside current BuildKit', () => {
    it('a replaced stage, FROM a directory, COPY --from and RUN --mount from= give the same files', async () => {
      const host = await modernDockerHost();
      // The base is a directory both builders take as a named context: busybox and its sh link.
      const rootfs = tempDir();
      mkdirSync(path.join(rootfs, 'bin'));
      copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
      for (const applet of ['sh', 'cat', 'ls', 'echo']) symlinkSync('busybox', path.join(rootfs, 'bin', applet));
      const deps = tempDir();
      writeFileSync(path.join(deps, 'lib.txt'), 'library\n');
      writeFileSync(path.join(deps, 'skip.txt'), 'skipped\n');
      writeFileSync(path.join(deps, '.dockerignore'), 'skip.txt\n');
      const tools = tempDir();
      writeFileSync(path.join(tools, 'tool.sh'), 'echo tool ran\n');
      const context = tempDir();
      writeFileSync(
        path.join(context, 'Dockerfile'),
        [
          'FROM base AS deps',
          'RUN echo replaced stages never run > /x',
          'FROM base',
          'COPY --from=deps / /deps/',
          'RUN --mount=from=tools,target=/t sh /t/tool.sh > /tool.out && ls /deps > /deps.list',
        ].join('\n'),
      );
      const contexts = { base: rootfs, deps, tools };
      const ours = tempDir();
      await build(request(context, { buildContexts: contexts, outputs: [{ type: 'local', dest: ours }] }));
      const theirs = tempDir();
      execFileSync(
        'docker',
        [
          'buildx',
          'build',
          '--network=none',
          '--no-cache',
          '-o',
          `type=local,dest=${theirs}`,
          ...Object.entries(contexts).flatMap(([name, dir]) => ['--build-context', `${name}=${dir}`]),
          context,
        ],
        { env: { ...process.env, DOCKER_HOST: host }, stdio: 'ignore' },
      );
      const read = (dir: string): Record<string, string> =>
        Object.fromEntries(['tool.out', 'deps.list', 'deps/lib.txt'].map((f) => [f, readFileSync(path.join(dir, f), 'utf8')]));
      expect(read(ours)).toEqual(read(theirs));
      expect(read(ours)).toEqual({ 'tool.out': 'tool ran\n', 'deps.list': 'lib.txt\n', 'deps/lib.txt': 'library\n' });
      expect([existsSync(path.join(ours, 'x')), existsSync(path.join(theirs, 'x'))]).toEqual([false, false]);
    }, 300_000);
  });
});
