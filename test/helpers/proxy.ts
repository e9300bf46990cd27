/**
 * An HTTP proxy in front of a test registry that records requests (with their headers) and can
 * misbehave: replace blob bodies (a tampering mirror), slow them down (so a pull can be killed
 * mid-transfer), or inject a fault per request: answer a status itself, accept and never answer,
 * drop the connection, cut or stall a body after some bytes, or drop a `Range` header so the
 * registry answers 200 with the whole blob.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { freePort } from './ports.js';

/** A request as the proxy received it. */
export interface ProxiedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** What the proxy does to one request instead of forwarding it faithfully. */
export type ProxyFault =
  /** Answer with this status (and headers and body) without asking the registry. */
  | { status: number; headers?: Record<string, string>; body?: string }
  /** Read the request and never answer, keeping the connection open. */
  | { stall: true }
  /** Close the connection without an answer. */
  | { reset: true }
  /** Forward, but close the connection after this many bytes of the response body. */
  | { cutAfter: number }
  /** Forward, but send nothing more after this many bytes of the response body (the connection stays). */
  | { stallAfter: number }
  /** Forward without the request's `Range` header. */
  | { ignoreRange: true }
  /** Forward once this settles (the client waits meanwhile: a test runs something else in between). */
  | { after: Promise<unknown> };

export interface ProxyOptions {
  /** Replace the body of blob responses with these bytes (same length). */
  tamperBlobs?: boolean;
  /** Send blob bodies in 16 KiB pieces this many ms apart. */
  slowBlobsMs?: number;
  /** The fault for a request (`earlier`: the requests received before it); undefined forwards it. */
  fault?: (request: ProxiedRequest, earlier: readonly ProxiedRequest[]) => ProxyFault | undefined;
}

export interface TestProxy {
  host: string;
  /** `METHOD path` of every request. */
  requests: string[];
  /** Every request with its headers. */
  log: ProxiedRequest[];
  blobGets(): number;
  stop(): Promise<void>;
}

export async function startProxy(target: string, options: ProxyOptions = {}): Promise<TestProxy> {
  const requests: string[] = [];
  const log: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const seen: ProxiedRequest = { method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers } };
    const fault = options.fault?.(seen, [...log]);
    requests.push(`${seen.method} ${seen.url}`);
    log.push(seen);
    if (fault && 'status' in fault) {
      req.resume();
      res.writeHead(fault.status, fault.headers ?? {}).end(fault.body ?? '');
      return;
    }
    if (fault && 'stall' in fault) return void req.resume();
    if (fault && 'reset' in fault) return void req.socket.destroy();
    if (fault && 'after' in fault) {
      req.pause();
      void fault.after.finally(() => forward(req, res, undefined));
      return;
    }
    forward(req, res, fault);
  });
  const forward = (req: http.IncomingMessage, res: http.ServerResponse, fault: ProxyFault | undefined): void => {
    const headers = { ...req.headers, host: target };
    if (fault && 'ignoreRange' in fault) delete headers.range;
    const upstream = http.request(`http://${target}${req.url}`, { method: req.method, headers }, (up) => {
      if (fault && ('cutAfter' in fault || 'stallAfter' in fault)) {
        res.writeHead(up.statusCode ?? 502, up.headers);
        const limit = 'cutAfter' in fault ? fault.cutAfter : fault.stallAfter;
        let sent = 0;
        // The connection is closed (FIN, not RST) once what was written has reached the socket, so
        // the client receives exactly `limit` bytes.
        const stop = (): void => {
          up.destroy();
          if ('cutAfter' in fault) res.socket?.end();
        };
        if (limit === 0) {
          res.flushHeaders();
          return void res.write('', stop);
        }
        up.on('data', (chunk: Buffer) => {
          if (sent >= limit) return;
          const piece = chunk.subarray(0, limit - sent);
          sent += piece.length;
          if (sent >= limit) res.write(piece, stop);
          else res.write(piece);
        });
        return;
      }
      const isBlob = /\/blobs\/sha256:/.test(req.url ?? '') && req.method === 'GET' && up.statusCode === 200;
      if (!isBlob || (!options.tamperBlobs && !options.slowBlobsMs)) {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        let body = Buffer.concat(chunks);
        if (options.tamperBlobs) body = Buffer.from(body.map((b) => b ^ 0xff));
        res.writeHead(200, { ...up.headers, 'content-length': String(body.length) });
        if (!options.slowBlobsMs) return void res.end(body);
        let offset = 0;
        const timer = setInterval(() => {
          if (res.destroyed) return clearInterval(timer);
          res.write(body.subarray(offset, offset + 16384));
          offset += 16384;
          if (offset >= body.length) {
            clearInterval(timer);
            res.end();
          }
        }, options.slowBlobsMs);
      });
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${port}`,
    requests,
    log,
    blobGets: () => requests.filter((r) => /^GET \/v2\/.*\/blobs\//.test(r)).length,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
