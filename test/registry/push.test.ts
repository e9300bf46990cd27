/**
 * Push against a real distribution registry: blobs checked with HEAD and skipped, mounted across
 * repositories, uploaded monolithically or in PATCH chunks (also as the fallback when a registry
 * refuses a monolithic PUT), the manifest last; what lands is read back by skopeo and by a tsbuild
 * pull into a fresh store. Auth through htpasswd and a token server, and the errors when refused.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../src/verbs/build.js';
import { buildOutputs } from '../../src/export/output-spec.js';
import { login } from '../../src/verbs/login.js';
import { pull } from '../../src/verbs/pull.js';
import { push } from '../../src/verbs/push.js';
import { inspectImage } from '../../src/verbs/images.js';
import type { TsbuildError } from '../../src/errors.js';
import { tsbuild } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { registryAvailable, skopeoPush, startRegistry, useBusyboxRegistry, type TestRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';

const execFileAsync = promisify(execFile);
const tempDir = useTempDirs('tsbuild-push-');
const ready = isRoot && registryAvailable;
const busybox = useBusyboxRegistry(ready);

/**
 * Builds a two-layer-on-busybox image named `name` into a fresh state root; `id` is its config
 * digest. The store keeps the build's layers uncompressed and a push sends them gzipped, so the
 * pushed manifest digest is the registry's (read back by skopeo), not the store's.
 */
async function builtImage(name: string, content = 'app\n'): Promise<{ root: string; id: string; dockerConfig: string }> {
  const context = tempDir();
  const root = tempDir();
  const dockerConfig = tempDir();
  writeFileSync(path.join(context, 'app.txt'), content);
  writeFileSync(path.join(context, 'Dockerfile'), `FROM ${busybox.registry().host}/busybox:1\nCOPY app.txt /app/\nRUN echo ran > /ran.txt\n`);
  const result = await build({ context, root, tags: [name], registriesConfig: '/nonexistent/registries.json', dockerConfig });
  return { root, id: result.config, dockerConfig };
}

/** The digest skopeo reads; asynchronous, as the token server answering it runs in this process. */
const skopeoDigest = async (ref: string, creds?: string): Promise<string> => {
  const { stdout } = await execFileAsync('skopeo', ['inspect', '--tls-verify=false', ...(creds ? ['--creds', creds] : []), `docker://${ref}`], {
    encoding: 'utf8',
  });
  return (JSON.parse(stdout) as { Digest: string }).Digest;
};

/** The config digest (image id) of the manifest skopeo reads. */
const skopeoConfigDigest = async (ref: string): Promise<string> => {
  const { stdout } = await execFileAsync('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${ref}`], { encoding: 'utf8' });
  return (JSON.parse(stdout) as { config: { digest: string } }).config.digest;
};

describe.skipIf(!ready)('push to a registry', () => {
  it('uploads, then skips what exists, then mounts into a second repository; skopeo and a tsbuild pull read it back', async () => {
    const name = `${busybox.registry().host}/team/app:1`;
    const { root, id, dockerConfig } = await builtImage(name);
    const options = { root, registriesConfig: '/nonexistent/registries.json', dockerConfig };

    const first = await push(name, options);
    const digest = first.digest;
    // The base's two layers came from busybox in this registry: they are mounted, not uploaded.
    expect(first).toEqual({ name, digest, uploaded: 3, mounted: 2, existing: 0, uploadedBytes: expect.any(Number) as number });
    expect([await skopeoDigest(name), await skopeoConfigDigest(name)]).toEqual([digest, id]);

    const again = await push(name, options);
    expect([again.uploaded, again.mounted, again.existing]).toEqual([0, 0, 5]);

    const cli = tsbuild(['--root', root, 'tag', name, `${busybox.registry().host}/other/app:2`]);
    expect(cli.status).toBe(0);
    const moved = await push(`${busybox.registry().host}/other/app:2`, options);
    expect([moved.digest, moved.uploaded, moved.mounted, moved.existing]).toEqual([digest, 0, 5, 0]);

    const fresh = tempDir();
    const pulled = await pull(`${busybox.registry().host}/other/app:2`, {
      root: fresh,
      registriesConfig: '/nonexistent/registries.json',
      dockerConfig,
    });
    expect([pulled.digest, pulled.layers, pulled.downloaded]).toEqual([digest, 4, 4]);
  });

  it('uploads in PATCH chunks when asked, and falls back to chunks when a registry refuses a monolithic PUT', async () => {
    const name = `${busybox.registry().host}/chunked/app:1`;
    const { root, id, dockerConfig } = await builtImage(name, 'x'.repeat(300_000));
    const chunked = await push(name, { root, registriesConfig: '/nonexistent/registries.json', dockerConfig, chunkSize: 64 * 1024 });
    const digest = chunked.digest;
    expect(chunked.uploaded).toBe(3);
    expect([await skopeoDigest(name), await skopeoConfigDigest(name)]).toEqual([digest, id]);

    // A front that answers 413 to any PUT carrying a body: only chunked uploads get through.
    const port = await freePort();
    const seen: string[] = [];
    const front = http.createServer((req, res) => {
      const hasBody = Number(req.headers['content-length'] ?? '0') > 0 || req.headers['transfer-encoding'] !== undefined;
      seen.push(`${req.method} ${hasBody ? 'body' : 'empty'}`);
      if (req.method === 'PUT' && hasBody && req.url?.includes('/blobs/uploads/')) {
        req.resume();
        res.writeHead(413, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"SIZE_INVALID","message":"too large"}]}');
        return;
      }
      const upstream = http.request(
        `http://${busybox.registry().host}${req.url}`,
        { method: req.method, headers: { ...req.headers, host: busybox.registry().host } },
        (up) => {
          const location = up.headers.location?.replace(busybox.registry().host, `127.0.0.1:${port}`);
          res.writeHead(up.statusCode ?? 502, { ...up.headers, ...(location ? { location } : {}) });
          up.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => front.listen(port, '127.0.0.1', resolve));
    try {
      const target = `127.0.0.1:${port}/fallback/app:1`;
      tsbuild(['--root', root, 'tag', name, target]);
      const result = await push(target, { root, registriesConfig: '/nonexistent/registries.json', dockerConfig });
      expect(result.digest).toBe(digest);
      expect(seen.filter((s) => s === 'PUT body').length).toBeGreaterThanOrEqual(1);
      expect(seen).toContain('PATCH body');
      expect(await skopeoDigest(`${busybox.registry().host}/fallback/app:1`)).toBe(digest);
    } finally {
      await new Promise((resolve) => front.close(resolve));
    }
  });

  it('a registry that denies the push: one line with the OCI code, the repository and the request', async () => {
    const name = `${busybox.registry().host}/denied/app:1`;
    const { root, dockerConfig } = await builtImage(name);
    const port = await freePort();
    const front = http.createServer((req, res) => {
      if (req.method === 'HEAD') return void res.writeHead(404).end();
      req.resume();
      res
        .writeHead(403, { 'Content-Type': 'application/json' })
        .end('{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}');
    });
    await new Promise<void>((resolve) => front.listen(port, '127.0.0.1', resolve));
    try {
      const target = `127.0.0.1:${port}/team/app:1`;
      tsbuild(['--root', root, 'tag', name, target]);
      // Through the library: the front answers from this process, which a synchronous CLI run would block.
      const err = await push(target, { root, registriesConfig: '/nonexistent/registries.json', dockerConfig }).then(
        () => undefined,
        (e: unknown) => e as TsbuildError,
      );
      expect(err?.describe()).toBe(
        `denied: requested access to the resource is denied for an upload to 127.0.0.1:${port}/team/app (POST http://127.0.0.1:${port}/v2/team/app/blobs/uploads/ → 403)\nlog in with: tsbuild login 127.0.0.1:${port}`,
      );
    } finally {
      await new Promise((resolve) => front.close(resolve));
    }
  });

  it('build --push pushes every -t name; the CLI prints the image id (config digest), as buildx -q does', async () => {
    const context = tempDir();
    const root = tempDir();
    writeFileSync(path.join(context, 'Dockerfile'), `FROM ${busybox.registry().host}/busybox:1\nENV A=1\n`);
    const cli = tsbuild(
      [
        '--root',
        root,
        '--registries-config',
        '/nonexistent/registries.json',
        'build',
        '-q',
        '--push',
        '-t',
        `${busybox.registry().host}/cli/a:1`,
        '-t',
        `${busybox.registry().host}/cli/b:1`,
        context,
      ],
      { env: { DOCKER_CONFIG: tempDir() } },
    );
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(0);
    const id = cli.stdout.trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await skopeoConfigDigest(`${busybox.registry().host}/cli/a:1`)).toBe(id);
    expect(await skopeoDigest(`${busybox.registry().host}/cli/b:1`)).toBe(await skopeoDigest(`${busybox.registry().host}/cli/a:1`));
  });
});

describe.skipIf(!ready)('push with authentication', () => {
  let basic: TestRegistry;
  let tokens: TokenServer;
  let bearer: TestRegistry;
  const user = { user: 'builder', password: 's3cret' };

  beforeAll(async () => {
    if (!ready) return;
    basic = await startRegistry({ htpasswd: user });
    tokens = await startTokenServer(user, { anonymousPull: true });
    bearer = await startRegistry({ token: tokens });
    await skopeoPush(path.join(busybox.layouts(), 'bb'), '1', `${bearer.host}/base/busybox:1`, { creds: `${user.user}:${user.password}` });
  }, 60_000);
  afterAll(async () => {
    await basic?.stop();
    await bearer?.stop();
    await tokens?.stop();
  });

  it('Basic: refused without credentials with a one-line error; pushes after login', async () => {
    const name = `${basic.host}/app:1`;
    const { root, id, dockerConfig } = await builtImage(name);
    const options = { root, registriesConfig: '/nonexistent/registries.json', dockerConfig };
    await expect(push(name, options)).rejects.toThrow(`unauthorized: authentication required for blob`);
    const cli = tsbuild(['--root', root, '--registries-config', '/nonexistent/registries.json', 'push', name], {
      env: { DOCKER_CONFIG: dockerConfig },
    });
    expect(cli.status).toBe(1);
    expect(cli.stderr).toMatch(
      new RegExp(
        `^error: unauthorized: authentication required for blob sha256:[0-9a-f]{64} of ${basic.host}/app \\(HEAD http://${basic.host}/v2/app/blobs/sha256:[0-9a-f]{64} → 401\\)\\nlog in with: tsbuild login ${basic.host}\\n$`,
      ),
    );
    await login(basic.host, { username: user.user, password: user.password }, { dockerConfig, registriesConfig: '/nonexistent/registries.json' });
    const { digest } = await push(name, options);
    expect(await skopeoDigest(name, `${user.user}:${user.password}`)).toBe(digest);
    expect((await inspectImage(digest, { root })).manifest.config.digest).toBe(id);
  });

  it('Bearer: a mount asks one token for both repositories; anonymous push is denied by the token scope', async () => {
    const name = `${bearer.host}/team/app:1`;
    const context = tempDir();
    const root = tempDir();
    const dockerConfig = tempDir();
    writeFileSync(path.join(context, 'Dockerfile'), `FROM ${bearer.host}/base/busybox:1\nENV A=1\n`);
    const registries = { registriesConfig: '/nonexistent/registries.json', dockerConfig };
    const built = await build({ context, root, tags: [name], ...registries });
    const anonymous = push(name, { root, ...registries });
    await expect(anonymous).rejects.toThrow('authentication required');
    await login(bearer.host, { username: user.user, password: user.password }, registries);
    tokens.requests.length = 0;
    const result = await push(name, { root, ...registries });
    expect([result.digest, result.mounted, result.uploaded]).toEqual([built.digest, 2, 1]);
    expect(tokens.requests).toContain('repository:team/app:pull,push repository:base/busybox:pull');
    expect(await skopeoDigest(name, `${user.user}:${user.password}`)).toBe(built.digest);
  });

  it('-o type=registry through the build pushes with the stored credentials', async () => {
    const context = tempDir();
    const root = tempDir();
    const dockerConfig = tempDir();
    const registries = { registriesConfig: '/nonexistent/registries.json', dockerConfig };
    await login(basic.host, { username: user.user, password: user.password }, registries);
    writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /\n');
    const result = await build({ context, root, outputs: buildOutputs([`type=registry,name=${basic.host}/scratch:1`]), ...registries });
    expect(result.outputs).toEqual([{ type: 'image', digest: result.digest, names: [`${basic.host}/scratch:1`], pushed: true }]);
    expect(await skopeoDigest(`${basic.host}/scratch:1`, `${user.user}:${user.password}`)).toBe(result.digest);
  });
});
