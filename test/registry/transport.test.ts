import http from 'node:http';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { DockerCredentials } from '../../src/registry/credentials.js';
import { registryError } from '../../src/registry/registry-error.js';
import { backoffDelay, retryAfterMs } from '../../src/registry/retry-policy.js';
import { parseChallenge, RegistryTransport } from '../../src/registry/transport.js';
import { freePort } from '../helpers/ports.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-transport-');
const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** A server answering each request with the next scripted behaviour. */
async function scripted(script: Array<(res: http.ServerResponse, req: http.IncomingMessage) => void>): Promise<{ base: string; hits: () => number }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    const step = script[Math.min(hits++, script.length - 1)];
    step?.(res, req);
  });
  servers.push(server);
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${port}`, hits: () => hits };
}

const ok = (res: http.ServerResponse): void => void res.writeHead(200).end('fine');

describe('RegistryTransport retries', () => {
  it('retries 503 and 429 with backoff, honouring Retry-After', async () => {
    const server = await scripted([(res) => res.writeHead(503).end(), (res) => res.writeHead(429, { 'Retry-After': '0' }).end(), ok]);
    const transport = new RegistryTransport(server.base, 'test', { backoffMs: 1 });
    const response = await transport.fetch({ method: 'GET', path: '/v2/' });
    expect([response.status, await response.text(), server.hits()]).toEqual([200, 'fine', 3]);
  });

  it('retries a connection dropped before the response', async () => {
    const server = await scripted([(res) => res.socket?.destroy(), ok]);
    const transport = new RegistryTransport(server.base, 'test', { backoffMs: 1 });
    expect((await transport.fetch({ method: 'GET', path: '/v2/' })).status).toBe(200);
    expect(server.hits()).toBe(2);
  });

  it('gives up after the retry budget and returns the last response', async () => {
    const server = await scripted([(res) => res.writeHead(502).end()]);
    const transport = new RegistryTransport(server.base, 'test', { backoffMs: 1, retries: 2 });
    expect((await transport.fetch({ method: 'GET', path: '/v2/' })).status).toBe(502);
    expect(server.hits()).toBe(3);
  });

  it('does not retry a POST', async () => {
    const server = await scripted([(res) => res.writeHead(503).end(), ok]);
    const transport = new RegistryTransport(server.base, 'test', { backoffMs: 1 });
    expect((await transport.fetch({ method: 'POST', path: '/v2/x/blobs/uploads/' })).status).toBe(503);
  });

  it('reports an unreachable registry in one line', async () => {
    const port = await freePort();
    const transport = new RegistryTransport(`http://127.0.0.1:${port}`, `127.0.0.1:${port}`, { backoffMs: 1 });
    await expect(transport.fetch({ method: 'GET', path: '/v2/' })).rejects.toThrow(
      `cannot reach registry 127.0.0.1:${port} (GET http://127.0.0.1:${port}/v2/): ECONNREFUSED`,
    );
  });

  it('retries a request that got no answer within the idle timeout, like a reset', async () => {
    const server = await scripted([() => undefined, ok]);
    const transport = new RegistryTransport(server.base, 'test', { backoffMs: 1, idleTimeoutMs: 200 });
    const response = await transport.fetch({ method: 'GET', path: '/v2/' });
    expect([response.status, await response.text(), server.hits()]).toEqual([200, 'fine', 2]);
  });

  it.each([
    ['a POST', { method: 'POST' as const }],
    ['a PUT whose body was streamed', { method: 'PUT' as const, body: Readable.from([Buffer.from('once')]) }],
  ])('does not repeat %s after a timeout: one line with the registry, request and what timed out', async (_name, request) => {
    const server = await scripted([() => undefined, ok]);
    const transport = new RegistryTransport(server.base, 'reg.example', { backoffMs: 1, idleTimeoutMs: 200 });
    await expect(transport.fetch({ ...request, path: '/v2/x/blobs/uploads/?_state=secret' })).rejects.toMatchObject({
      message: `cannot reach registry reg.example (${request.method} ${server.base}/v2/x/blobs/uploads/): timed out waiting for the response (nothing received for 0.2 s)`,
    });
    expect(server.hits()).toBe(1);
  });

  it('counts the attempts into the error for a 5xx that outlasts the retries', async () => {
    const server = await scripted([(res) => res.writeHead(503).end()]);
    const transport = new RegistryTransport(server.base, 'test', { backoffMs: 1, retries: 2 });
    const response = await transport.fetch({ method: 'GET', path: '/v2/x/manifests/1' });
    expect(registryError(response, '', { method: 'GET', url: `${server.base}/v2/x/manifests/1` }, 'tag 1 of test/x').message).toBe(
      `service unavailable for tag 1 of test/x (GET ${server.base}/v2/x/manifests/1 → 503, 3 attempts)`,
    );
  });

  it('stops waiting when aborted', async () => {
    const server = await scripted([(res) => res.writeHead(503).end()]);
    const transport = new RegistryTransport(server.base, 'test', { backoffMs: 60_000 });
    const controller = new AbortController();
    const pending = transport.fetch({ method: 'GET', path: '/v2/', signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop')), 50);
    await expect(pending).rejects.toThrow('stop');
  });
});

describe('RegistryTransport redirects', () => {
  it('follows a redirect to blob storage without sending the registry credentials there', async () => {
    const seen: Array<string | undefined> = [];
    const storage = await scripted([
      (res, req) => {
        seen.push(req.headers.authorization);
        res.writeHead(200).end('blob bytes');
      },
    ]);
    const registry = await scripted([
      (res) => res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="test"' }).end(),
      (res, req) => {
        seen.push(req.headers.authorization);
        res.writeHead(307, { Location: `${storage.base}/bucket/blob?sig=abc` }).end();
      },
    ]);
    const credentials = { get: async () => ({ username: 'u', password: 'p' }) };
    const transport = new RegistryTransport(registry.base, 'test', { credentials, backoffMs: 1 });
    const response = await transport.fetch({ method: 'GET', path: '/v2/x/blobs/sha256:abc' });
    expect([response.status, await response.text()]).toEqual([200, 'blob bytes']);
    expect(seen).toEqual([`Basic ${Buffer.from('u:p').toString('base64')}`, undefined]);
  });
});

describe('retry policy', () => {
  const policy = { retries: 4, backoffMs: 200, maxBackoffMs: 1000 };
  it.each([
    // attempt, random → wait: half the exponential step fixed, half jittered, the step capped.
    [0, 0, 100],
    [0, 1, 200],
    [1, 0.5, 300],
    [2, 0, 400],
    [3, 1, 1000],
    [6, 0, 500],
  ])('retry %i with random %f waits %i ms', (attempt, random, wait) => {
    expect(backoffDelay(policy, attempt, () => random)).toBe(wait);
  });

  const now = Date.parse('2025-01-01T00:00:00Z');
  it.each([
    ['2', 2000],
    ['0', 0],
    ['Wed, 01 Jan 2025 00:00:03 GMT', 3000],
    ['Tue, 31 Dec 2024 23:00:00 GMT', 0],
    ['600', 60_000],
    ['soon', undefined],
    ['', undefined],
    [null, undefined],
  ])('Retry-After %j waits %j ms', (header, wait) => {
    expect(retryAfterMs(header, now)).toBe(wait);
  });
});

describe('parseChallenge', () => {
  it.each([
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' } },
    ],
    ['Basic realm="Registry Realm"', { scheme: 'basic', params: { realm: 'Registry Realm' } }],
    ['bearer realm=http://x/token, service=svc', { scheme: 'bearer', params: { realm: 'http://x/token', service: 'svc' } }],
    ['Negotiate abc', undefined],
  ])('%s', (header, expected) => {
    expect(parseChallenge(header)).toEqual(expected);
  });
});

describe('DockerCredentials', () => {
  it('reads auths by host, Docker Hub under its v1 URL', async () => {
    const dir = tempDir();
    writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:hubpass').toString('base64') },
          'registry.example:5000': { username: 'u', password: 'p' },
        },
      }),
    );
    const creds = new DockerCredentials(dir);
    expect(await creds.get('docker.io')).toEqual({ username: 'hubuser', password: 'hubpass' });
    expect(await creds.get('registry.example:5000')).toEqual({ username: 'u', password: 'p' });
    expect(await creds.get('other.example')).toBeUndefined();
  });

  it.each([
    [
      'az acr login: a placeholder user and the token',
      { auth: Buffer.from('00000000-0000-0000-0000-000000000000:').toString('base64'), identitytoken: 'tok' },
      { username: '00000000-0000-0000-0000-000000000000', password: '', identityToken: 'tok' },
    ],
    ['the token alone', { identitytoken: 'tok' }, { username: '', password: '', identityToken: 'tok' }],
    ['an empty token is none', { auth: Buffer.from('u:p').toString('base64'), identitytoken: '' }, { username: 'u', password: 'p' }],
  ])('reads identity tokens from auths: %s', async (_name, entry, expected) => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ auths: { 'registry.example': entry } }));
    expect(await new DockerCredentials(dir).get('registry.example')).toEqual(expected);
  });

  it('takes a helper secret under the user <token> as an identity token', async () => {
    const dir = tempDir();
    const bin = tempDir();
    const file = path.join(bin, 'docker-credential-acr');
    writeFileSync(file, `#!/bin/sh\nread server\necho '{"ServerURL":"'$server'","Username":"<token>","Secret":"refresh-me"}'\n`);
    chmodSync(file, 0o755);
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ credHelpers: { 'x.azurecr.io': 'acr' } }));
    const previous = process.env.PATH;
    process.env.PATH = `${bin}:${previous}`;
    try {
      expect(await new DockerCredentials(dir).get('x.azurecr.io')).toEqual({ username: '', password: '', identityToken: 'refresh-me' });
    } finally {
      process.env.PATH = previous;
    }
  });

  it('asks credsStore and credHelpers programs (docker-credential-*)', async () => {
    const dir = tempDir();
    const bin = tempDir();
    // A credential helper speaking the docker-credential protocol, as pass/secretservice do.
    const helper = (name: string, user: string): void => {
      const file = path.join(bin, `docker-credential-${name}`);
      writeFileSync(
        file,
        `#!/bin/sh\nread server\nif [ "$1" = get ] && [ "$server" = "${name === 'store' ? 'https://index.docker.io/v1/' : 'ghcr.io'}" ]; then\n  echo '{"ServerURL":"'$server'","Username":"${user}","Secret":"from-${name}"}'\nelse\n  echo "credentials not found in native keychain"; exit 1\nfi\n`,
      );
      chmodSync(file, 0o755);
    };
    helper('store', 'hub');
    helper('special', 'gh');
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ credsStore: 'store', credHelpers: { 'ghcr.io': 'special' } }));
    const previous = process.env.PATH;
    process.env.PATH = `${bin}:${previous}`;
    try {
      const creds = new DockerCredentials(dir);
      expect(await creds.get('docker.io')).toEqual({ username: 'hub', password: 'from-store' });
      expect(await creds.get('ghcr.io')).toEqual({ username: 'gh', password: 'from-special' });
      expect(await creds.get('quay.io')).toBeUndefined();
    } finally {
      process.env.PATH = previous;
    }
  });

  it('stores and erases credentials in config.json, keeping other settings', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ psFormat: 'table', auths: {} }));
    const creds = new DockerCredentials(dir);
    await creds.store('docker.io', { username: 'me', password: 'pw' });
    expect(await creds.get('docker.io')).toEqual({ username: 'me', password: 'pw' });
    expect(await creds.erase('docker.io')).toBe(true);
    expect(await creds.erase('docker.io')).toBe(false);
    expect(await creds.get('docker.io')).toBeUndefined();
  });

  it('logout through a credential helper that is not installed says so instead of "not logged in"', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ credsStore: 'tsbuild-absent' }));
    await expect(new DockerCredentials(dir).erase('docker.io')).rejects.toMatchObject({
      code: 'failed-precondition',
      message: `docker-credential-tsbuild-absent is not installed (not found on PATH): credsStore in ${path.join(dir, 'config.json')} names it`,
      hint: 'install docker-credential-tsbuild-absent; or remove that entry',
    });
  });
});
