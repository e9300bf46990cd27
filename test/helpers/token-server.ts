/**
 * A small Bearer token service for the test registry: checks Basic credentials, grants the
 * requested repository actions to a known user (pull only to anonymous when `anonymousPull`), and
 * signs ES256 JWTs with a self-signed certificate the registry trusts (`x5c` header).
 * With `identityToken` it also takes the OAuth2 refresh-token grant (a form POST, checked field by
 * field) for that user, and that token as a Basic password on GET, as ACR does; `oauthPost:
 * false` answers the POST 404 as GCR did; `rotate` hands out a new refresh token with every POST
 * and accepts only the newest one from then on.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
  /** Token requests served, by scope. */
  requests: string[];
  /** Every request: method, query or form fields, the Basic user and password, the status answered. */
  exchanges: TokenExchange[];
  stop(): Promise<void>;
}

export interface TokenExchange {
  method: string;
  fields: Record<string, string>;
  basic?: string;
  status: number;
}

export interface TokenServerOptions {
  anonymousPull?: boolean;
  /** A refresh token that stands for the user (the `identitytoken` of docker's config). */
  identityToken?: string;
  /** false: the POST grant is not served (404). */
  oauthPost?: boolean;
  /** Issue a new refresh token with each POST; only the newest is accepted after that. */
  rotate?: boolean;
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

export async function startTokenServer(user: { user: string; password: string }, options: TokenServerOptions = {}): Promise<TokenServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-token-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=tsbuild-test-token',
    ],
    { stdio: 'ignore' },
  );
  const key = createPrivateKey(readFileSync(keyFile));
  const certDer = new X509Certificate(readFileSync(certFile)).raw;
  const service = 'tsbuild-test-registry';
  const issuer = 'tsbuild-test-issuer';
  const requests: string[] = [];
  const exchanges: TokenExchange[] = [];
  let refreshToken = options.identityToken;
  let rotations = 0;

  /** A signed token granting `scope` (space-separated) as far as `authenticated` allows. */
  const issue = (scope: string, authenticated: boolean): string => {
    const access = scope
      ? scope.split(' ').flatMap((s) => {
          const [type, name, actions] = s.split(':');
          const granted = (actions ?? '').split(',').filter((a) => authenticated || (options.anonymousPull && a === 'pull'));
          return granted.length > 0 ? [{ type, name, actions: granted }] : [];
        })
      : [];
    const now = Math.floor(Date.now() / 1000);
    const head = b64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c: [certDer.toString('base64')] }));
    const claims = b64url(
      JSON.stringify({
        iss: issuer,
        sub: authenticated ? user.user : '',
        aud: service,
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomBytes(8).toString('hex'),
        access,
      }),
    );
    const signature = sign('sha256', Buffer.from(`${head}.${claims}`), { key, dsaEncoding: 'ieee-p1363' });
    return `${head}.${claims}.${b64url(signature)}`;
  };
  const answer = (res: http.ServerResponse, exchange: TokenExchange, status: number, body: unknown): void => {
    exchange.status = status;
    exchanges.push(exchange);
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const header = req.headers.authorization ?? '';
      const given = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString() : undefined;
      if (req.method === 'POST') {
        const form = new URLSearchParams(Buffer.concat(chunks).toString());
        const exchange: TokenExchange = { method: 'POST', fields: Object.fromEntries(form), status: 0, ...(given ? { basic: given } : {}) };
        if (!options.identityToken || options.oauthPost === false) return answer(res, exchange, 404, { error: 'not found' });
        const valid =
          req.headers['content-type']?.startsWith('application/x-www-form-urlencoded') &&
          form.get('grant_type') === 'refresh_token' &&
          form.get('refresh_token') === refreshToken &&
          form.get('service') === service &&
          (form.get('client_id') ?? '') !== '';
        if (!valid) return answer(res, exchange, 401, { error: 'invalid_grant' });
        const scope = form.get('scope') ?? '';
        requests.push(scope);
        if (options.rotate) refreshToken = `${options.identityToken}-rotated-${++rotations}`;
        return answer(res, exchange, 200, {
          access_token: issue(scope, true),
          expires_in: 300,
          scope,
          ...(options.rotate ? { refresh_token: refreshToken } : {}),
        });
      }
      const scope = url.searchParams.getAll('scope').join(' ');
      const exchange: TokenExchange = { method: 'GET', fields: Object.fromEntries(url.searchParams), status: 0, ...(given ? { basic: given } : {}) };
      requests.push(scope);
      const password = given?.slice(given.indexOf(':') + 1);
      const authenticated = given === `${user.user}:${user.password}` || (refreshToken !== undefined && password === refreshToken);
      if (given !== undefined && !authenticated)
        return answer(res, exchange, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'incorrect username or password' }] });
      answer(res, exchange, 200, { token: issue(scope, authenticated), expires_in: 300 });
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    exchanges,
    stop: async () => {
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
