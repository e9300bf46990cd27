import http from 'node:http';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { httpFetch } from '../../src/http/http-fetch.js';
import { HttpTimeoutError } from '../../src/http/network-errors.js';
import { freePort } from '../helpers/ports.js';
import { startUnacceptingListener } from '../helpers/unaccepting-listener.js';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

interface Seen {
  method: string;
  url: string;
  body: string;
  authorization: string | undefined;
  contentType: string | undefined;
}

/** A server that records each request (with its body) and answers it with `answer`. */
async function server(answer: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void): Promise<{ base: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const s = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        body,
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
      });
      answer(req, res, body);
    });
  });
  servers.push(s);
  const port = await freePort();
  await new Promise<void>((resolve) => s.listen(port, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${port}`, seen };
}

describe('httpFetch', () => {
  it('returns status, headers and body as a Response, and sends bytes and streamed bodies', async () => {
    const { base, seen } = await server((_req, res, body) =>
      res.writeHead(201, { 'Docker-Content-Digest': 'sha256:x', 'X-Two': ['a', 'b'] }).end(`got ${body}`),
    );
    const bytes = await httpFetch(`${base}/put`, { method: 'PUT', body: Buffer.from('bytes') });
    expect([bytes.status, bytes.ok, bytes.headers.get('docker-content-digest'), bytes.headers.get('x-two'), await bytes.text()]).toEqual([
      201,
      true,
      'sha256:x',
      'a, b',
      'got bytes',
    ]);
    const streamed = await httpFetch(`${base}/patch`, { method: 'PATCH', body: Readable.from([Buffer.from('str'), Buffer.from('eamed')]) });
    expect(await streamed.text()).toBe('got streamed');
    expect(seen.map((s) => `${s.method} ${s.url} ${s.body}`)).toEqual(['PUT /put bytes', 'PATCH /patch streamed']);
  });

  it.each([
    ['HEAD', 200],
    ['GET', 204],
    ['GET', 304],
  ])('gives a %s answered %i no body', async (method, status) => {
    const { base } = await server((_req, res) => res.writeHead(status, { 'Content-Length': status === 200 ? '5' : '0' }).end());
    const response = await httpFetch(base, { method });
    expect([response.status, response.body]).toEqual([status, null]);
  });

  it('follows a 307 with the same method and body; a 303 and a redirected POST become a GET without one', async () => {
    const target = await server((req, res, body) => res.writeHead(200).end(`${req.method} ${body}`));
    const redirector = await server((req, res) => res.writeHead(Number(req.url?.slice(1)), { Location: `${target.base}/landed` }).end());
    const cases = await Promise.all([
      httpFetch(`${redirector.base}/307`, { method: 'PUT', body: 'kept' }).then((r) => r.text()),
      httpFetch(`${redirector.base}/303`, { method: 'PUT', body: 'dropped', headers: { 'Content-Type': 'text/plain' } }).then((r) => r.text()),
      httpFetch(`${redirector.base}/302`, { method: 'POST', body: 'dropped' }).then((r) => r.text()),
    ]);
    expect(cases).toEqual(['PUT kept', 'GET ', 'GET ']);
    expect(target.seen.filter((s) => s.method === 'GET').map((s) => s.contentType)).toEqual([undefined, undefined]);
  });

  it('keeps Authorization on the same origin and drops it on another', async () => {
    const other = await server((_req, res) => res.writeHead(200).end('there'));
    const origin = await server((req, res) => {
      if (req.url === '/start') res.writeHead(302, { Location: '/same' }).end();
      else res.writeHead(302, { Location: `${other.base}/elsewhere` }).end();
    });
    const response = await httpFetch(`${origin.base}/start`, { headers: { Authorization: 'Bearer secret' } });
    expect(await response.text()).toBe('there');
    expect([...origin.seen, ...other.seen].map((s) => `${s.url} ${s.authorization ?? '-'}`)).toEqual([
      '/start Bearer secret',
      '/same Bearer secret',
      '/elsewhere -',
    ]);
  });

  it('refuses to resend a streamed body after a 307, and stops after 20 redirects', async () => {
    const loop = await server((req, res) => res.writeHead(307, { Location: req.url ?? '/' }).end());
    await expect(httpFetch(`${loop.base}/x`, { method: 'PUT', body: Readable.from([Buffer.from('once')]) })).rejects.toMatchObject({
      message: 'fetch failed',
      cause: { message: `cannot resend a streamed body to ${loop.base} after a 307 redirect` },
    });
    await expect(httpFetch(`${loop.base}/y`)).rejects.toMatchObject({
      message: 'fetch failed',
      cause: { message: `more than 20 redirects from ${loop.base}` },
    });
    expect(loop.seen.filter((s) => s.url === '/y').length).toBe(21);
  });

  it('rejects a refused connection as fetch does: a TypeError whose cause has the code', async () => {
    const port = await freePort();
    const err = (await httpFetch(`http://127.0.0.1:${port}/`).then(
      () => undefined,
      (e: unknown) => e,
    )) as TypeError & { cause: NodeJS.ErrnoException };
    expect([err instanceof TypeError, err.message, err.cause.code]).toEqual([true, 'fetch failed', 'ECONNREFUSED']);
  });
});

describe('httpFetch timeouts', () => {
  /** What a request that timed out rejects with (before the response) or errors its body with (after). */
  async function failure(pending: Promise<unknown>): Promise<{ phase: string; message: string; code: string }> {
    const err = (await pending.then(
      () => undefined,
      (e: unknown) => e,
    )) as Error & { cause?: HttpTimeoutError };
    const timeout = err instanceof HttpTimeoutError ? err : err.cause;
    expect(timeout).toBeInstanceOf(HttpTimeoutError);
    return { phase: timeout?.phase ?? '', message: timeout?.message ?? '', code: timeout?.code ?? '' };
  }

  it('gives up on a connection that is never established', async () => {
    const listener = await startUnacceptingListener();
    try {
      const started = Date.now();
      const result = await failure(httpFetch(`http://${listener.host}/v2/`, { timeouts: { connectMs: 200, idleMs: 5000 } }));
      expect(result).toEqual({ phase: 'connect', message: 'timed out connecting (no connection within 0.2 s)', code: 'ETIMEDOUT' });
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await listener.stop();
    }
  });

  it('gives up on a server that accepts and never answers', async () => {
    const { base } = await server(() => undefined);
    const result = await failure(httpFetch(`${base}/v2/`, { timeouts: { connectMs: 5000, idleMs: 200 } }));
    expect(result).toEqual({ phase: 'response', message: 'timed out waiting for the response (nothing received for 0.2 s)', code: 'ETIMEDOUT' });
  });

  it('errors the body of a response that stops in the middle', async () => {
    const { base } = await server((_req, res) => {
      res.writeHead(200, { 'Content-Length': '10' });
      res.write('12345');
    });
    const response = await httpFetch(`${base}/blob`, { timeouts: { idleMs: 200 } });
    expect(response.status).toBe(200);
    expect(await failure(response.text())).toEqual({
      phase: 'body',
      message: 'timed out reading the body (nothing received for 0.2 s)',
      code: 'ETIMEDOUT',
    });
  });

  it('lets a slow body through as long as bytes keep coming, and reuses the connection after', async () => {
    const connections = new Set<unknown>();
    const { base } = await server((req, res) => {
      connections.add(req.socket);
      if (req.url !== '/slow') return void res.writeHead(200).end('quick');
      res.writeHead(200, { 'Content-Length': '8' });
      let sent = 0;
      const timer = setInterval(() => {
        res.write(String(sent));
        if (++sent === 8) {
          clearInterval(timer);
          res.end();
        }
      }, 100);
    });
    const timeouts = { connectMs: 1000, idleMs: 250 };
    expect(await (await httpFetch(`${base}/slow`, { timeouts })).text()).toBe('01234567');
    // Idle in the pool for longer than the idle timeout: the kept-alive connection must survive it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await (await httpFetch(`${base}/quick`, { timeouts })).text()).toBe('quick');
    expect(connections.size).toBe(1);
  });
});
