/**
 * `fetch` for registry traffic, over `node:http`/`node:https`. Node's global fetch parses HTTP with
 * llhttp compiled to WebAssembly: compiling it costs every registry command CPU at start, and on
 * exit Node waits 60–90 ms for V8's background recompilation of it. `node:http` parses natively.
 * Optional timeouts bound each wait: for the connection (TCP and TLS), and for silence on it
 * (before the response, and between body bytes); the loser is destroyed with an
 * `HttpTimeoutError`, so a registry that accepts and then says nothing cannot hang a build.
 * The result is an `HttpResponse`, fetch's `Response` in the parts read here (its body a web stream
 * over the socket), redirects are
 * followed as fetch follows them (`Authorization` dropped when the origin changes, 303 and a
 * redirected POST become GET), and network failures reject as fetch's do: a `TypeError` whose
 * `cause` is the socket error, with its `code`.
 */
import type * as Fs from 'node:fs';
import type * as Http from 'node:http';
import type * as Https from 'node:https';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type * as Tls from 'node:tls';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { bodyStream } from './body-stream.js';
import { HttpResponse, ResponseHeaders } from './http-response.js';
import { HttpTimeoutError } from './network-errors.js';

export interface HttpInit {
  method?: string;
  headers?: Record<string, string>;
  /** Bytes, text, or a stream sent as it is read (never replayed on a redirect). */
  body?: Uint8Array | string | Readable | AsyncIterable<Uint8Array>;
  signal?: AbortSignal;
  timeouts?: HttpTimeouts;
}

/** Limits on waiting, in ms; absent or 0: wait as long as the peer keeps the connection. */
export interface HttpTimeouts {
  /** For a new connection to be established (TCP connect and, for https, the TLS handshake). */
  connectMs?: number;
  /** For the next byte once connected: the response headers, then each piece of the body. */
  idleMs?: number;
}

const MAX_REDIRECTS = 20;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Statuses whose responses have no body (fetch's Response refuses one). */
const NO_BODY = new Set([101, 103, 204, 205, 304]);

interface Transports {
  http: typeof Http;
  https: typeof Https;
  agents: { http: Http.Agent; https: Https.Agent };
}

let loaded: Transports | undefined;

/**
 * `node:http` and `node:https` with their keep-alive agents, loaded by the first request: loading
 * them (TLS with them) cost every command ~10 ms of its start, and most builds talk to no registry.
 * The https agent trusts Node's roots plus the bundle `bin/tsbuild.js` moved out of Node's way
 * (`TSBUILD_EXTRA_CA_CERTS`, what NODE_EXTRA_CA_CERTS named), read here rather than at start-up.
 */
function transports(): Transports {
  if (!loaded) {
    const load = createRequire(import.meta.url);
    const http = load('node:http') as typeof Http;
    const https = load('node:https') as typeof Https;
    const ca = extraRoots(load);
    loaded = {
      http,
      https,
      agents: { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true, ...(ca ? { ca } : {}) }) },
    };
  }
  return loaded;
}

/**
 * Node's bundled roots and the extra bundle, when the launcher deferred one (and Node did not read
 * one itself). An unreadable bundle is ignored with a warning, as Node ignores it.
 */
function extraRoots(load: NodeJS.Require, env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const file = env.TSBUILD_EXTRA_CA_CERTS;
  if (!file || env.NODE_EXTRA_CA_CERTS) return undefined;
  const { readFileSync } = load('node:fs') as typeof Fs;
  const { rootCertificates } = load('node:tls') as typeof Tls;
  try {
    return [...rootCertificates, readFileSync(file, 'utf8')];
  } catch (err) {
    process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(err as Error).message}`);
    return undefined;
  }
}

export async function httpFetch(input: string | URL, init: HttpInit = {}): Promise<HttpResponse> {
  let url = new URL(input);
  let method = (init.method ?? 'GET').toUpperCase();
  let headers = { ...(init.headers ?? {}) };
  let body = init.body;
  for (let redirects = 0; ; redirects++) {
    const response = await send(url, method, headers, body, init.signal, init.timeouts ?? {});
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (!REDIRECTS.has(status) || location === undefined) return toResponse(response, method);
    response.resume();
    if (redirects >= MAX_REDIRECTS)
      throw new TypeError('fetch failed', { cause: new Error(`more than ${MAX_REDIRECTS} redirects from ${url.origin}`) });
    const next = new URL(location, url);
    if (next.origin !== url.origin) headers = withoutHeader(headers, 'authorization');
    if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      body = undefined;
      headers = withoutHeader(withoutHeader(headers, 'content-length'), 'content-type');
    } else if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) {
      throw new TypeError('fetch failed', { cause: new Error(`cannot resend a streamed body to ${next.origin} after a ${status} redirect`) });
    }
    url = next;
  }
}

function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: HttpInit['body'],
  signal: AbortSignal | undefined,
  timeouts: HttpTimeouts,
): Promise<Http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:')
      return reject(new TypeError(`fetch failed`, { cause: new Error(`unsupported protocol ${url.protocol}`) }));
    let response: Http.IncomingMessage | undefined;
    const { http, https, agents } = transports();
    const request = (secure ? https : http).request(
      url,
      { method, headers, agent: secure ? agents.https : agents.http, ...(signal ? { signal } : {}) },
      (message) => {
        response = message;
        resolve(message);
      },
    );
    request.once('error', (err) => reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: err })));
    const { connectMs, idleMs } = timeouts;
    if (connectMs) request.once('socket', (socket) => limitConnect(request, socket, secure, connectMs));
    if (idleMs) {
      // Node arms the socket's inactivity timer once it is connected, resets it on every read and
      // write, and stops delivering it to this request when the response has ended (the agent
      // disarms it for the pool). Silence before the response fails the request; during the body,
      // the body stream, which is where its reader waits.
      request.setTimeout(idleMs, () => {
        if (response) response.destroy(new HttpTimeoutError('body', idleMs));
        else request.destroy(new HttpTimeoutError('response', idleMs));
      });
    }
    if (body === undefined || typeof body === 'string' || body instanceof Uint8Array) {
      request.end(body);
      return;
    }
    // A failing source ends the request with its error, which rejects above.
    pipeline(body instanceof Readable ? body : Readable.from(body), request).catch((err: unknown) => request.destroy(err as Error));
  });
}

/** Fails `request` unless its new socket connects (and finishes TLS) within `ms`. */
function limitConnect(request: Http.ClientRequest, socket: Socket, secure: boolean, ms: number): void {
  if (!socket.connecting) return; // a kept-alive connection, reused
  const timer = setTimeout(() => request.destroy(new HttpTimeoutError('connect', ms)), ms);
  const done = (): void => clearTimeout(timer);
  socket.once(secure ? 'secureConnect' : 'connect', done);
  socket.once('close', done);
}

function toResponse(message: Http.IncomingMessage, method: string): HttpResponse {
  const status = message.statusCode ?? 0;
  const hasBody = method !== 'HEAD' && !NO_BODY.has(status);
  if (!hasBody) message.resume();
  return new HttpResponse(status, message.statusMessage ?? '', new ResponseHeaders(message.rawHeaders), hasBody ? bodyStream(message) : null);
}

function withoutHeader(headers: Record<string, string>, name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([key]) => key.toLowerCase() !== name));
}
