/**
 * An HTTP proxy in front of a test registry that records requests and can misbehave: replace blob
 * bodies (a tampering mirror) or slow them down (so a pull can be killed mid-transfer).
 */
import http from 'node:http';
import { freePort } from './ports.js';

export interface ProxyOptions {
  /** Replace the body of blob responses with these bytes (same length). */
  tamperBlobs?: boolean;
  /** Send blob bodies in 16 KiB pieces this many ms apart. */
  slowBlobsMs?: number;
}

export interface TestProxy {
  host: string;
  /** `METHOD path` of every request. */
  requests: string[];
  blobGets(): number;
  stop(): Promise<void>;
}

export async function startProxy(target: string, options: ProxyOptions = {}): Promise<TestProxy> {
  const requests: string[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const upstream = http.request(`http://${target}${req.url}`, { method: req.method, headers: { ...req.headers, host: target } }, (up) => {
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
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${port}`,
    requests,
    blobGets: () => requests.filter((r) => /^GET \/v2\/.*\/blobs\//.test(r)).length,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
