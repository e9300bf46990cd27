/**
 * HTTP to one registry endpoint, with the distribution spec's auth dance and retries:
 * - a 401 with `WWW-Authenticate: Bearer realm=…,service=…,scope=…` fetches a token from the realm
 *   (with Basic credentials when there are any) and retries; tokens are reused per scope until they
 *   expire; `Basic` challenges are answered with the stored credentials;
 * - 429 and 5xx responses, and connections dropped before a response, are retried with exponential
 *   backoff (honouring `Retry-After`) for idempotent requests;
 * - redirects are followed, dropping `Authorization` when leaving the origin (blob storage gets
 *   no registry credentials); requests go through `http.ts`, fetch's semantics over `node:http`.
 */
import { TsbuildError } from '../errors.js';
import { httpFetch, type HttpInit } from './http.js';
import type { CredentialSource, Credentials } from './credentials.js';
import { redactUrl, registryError } from './registry-error.js';

/** A request to the registry. */
export interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** Path below the endpoint base (`/v2/library/alpine/manifests/3.20`) or an absolute URL. */
  path: string;
  /** The repository and actions the request needs (the token scope). */
  scope?: RepositoryScope & {
    /** Further repositories the request reads (a cross-repository mount's source). */
    also?: RepositoryScope[];
  };
  headers?: Record<string, string>;
  body?: NonNullable<HttpInit['body']>;
  signal?: AbortSignal;
}

/** Access to one repository. */
export interface RepositoryScope {
  repository: string;
  actions: Array<'pull' | 'push'>;
}

/** Transport settings. */
export interface TransportOptions {
  credentials?: CredentialSource;
  /** How many times to retry a failed idempotent request (default 4). */
  retries?: number;
  /** First backoff delay in ms (doubles each retry; default 200). */
  backoffMs?: number;
  userAgent?: string;
}

interface Challenge {
  scheme: 'bearer' | 'basic';
  params: Record<string, string>;
}

interface Token {
  value: string;
  expires: number;
}

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRYABLE_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_HEADERS_TIMEOUT']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/** HTTP to one registry endpoint. */
export class RegistryTransport {
  private readonly tokens = new Map<string, Token>();
  private basic = false;
  private credentials: Promise<Credentials | undefined> | undefined;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly userAgent: string;

  /**
   * @param base `https://registry-1.docker.io`, `http://127.0.0.1:5000`
   * @param host the name credentials are stored under (`docker.io`)
   */
  constructor(
    readonly base: string,
    readonly host: string,
    private readonly options: TransportOptions = {},
  ) {
    this.retries = options.retries ?? 4;
    this.backoffMs = options.backoffMs ?? 200;
    this.userAgent = options.userAgent ?? 'tsbuild/0.1';
  }

  /** Sends `request`, answering auth challenges and retrying transient failures. */
  async fetch(request: RegistryRequest): Promise<Response> {
    let attempt = 0;
    let challenged = false;
    for (;;) {
      const url = request.path.startsWith('http') ? request.path : `${this.base}${request.path}`;
      let response: Response;
      let auth: Record<string, string>;
      try {
        auth = await this.authHeaders(request);
        response = await httpFetch(url, {
          method: request.method,
          headers: { 'User-Agent': this.userAgent, ...auth, ...(request.headers ?? {}) },
          ...(request.body === undefined ? {} : { body: request.body }),
          ...(request.signal ? { signal: request.signal } : {}),
        });
      } catch (err) {
        if (request.signal?.aborted) throw request.signal.reason ?? err;
        if (attempt < this.retries && IDEMPOTENT.has(request.method) && isTransient(err)) {
          await sleep(this.delay(attempt++), request.signal);
          continue;
        }
        throw new TsbuildError(
          'unavailable',
          `cannot reach registry ${this.host} (${request.method} ${redactUrl(url)}): ${describeNetworkError(err)}`,
          { cause: err },
        );
      }
      if (response.status === 401 && !challenged) {
        const challenge = parseChallenge(response.headers.get('www-authenticate'));
        if (challenge && (await this.answer(challenge, request, auth.Authorization !== undefined))) {
          challenged = true;
          await response.body?.cancel();
          continue;
        }
      }
      if (RETRYABLE_STATUS.has(response.status) && attempt < this.retries && IDEMPOTENT.has(request.method) && request.body === undefined) {
        const retryAfter = Number(response.headers.get('retry-after'));
        await response.body?.cancel();
        await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter * 1000, 10_000) : this.delay(attempt), request.signal);
        attempt++;
        continue;
      }
      return response;
    }
  }

  private delay(attempt: number): number {
    return this.backoffMs * 2 ** attempt;
  }

  private async creds(): Promise<Credentials | undefined> {
    this.credentials ??= this.options.credentials?.get(this.host) ?? Promise.resolve(undefined);
    return this.credentials;
  }

  private async authHeaders(request: RegistryRequest): Promise<Record<string, string>> {
    const token = this.tokens.get(scopeKey(request));
    if (token && token.expires > Date.now()) return { Authorization: `Bearer ${token.value}` };
    if (this.basic) {
      const creds = await this.creds();
      if (creds) return { Authorization: basicAuth(creds) };
    }
    return {};
  }

  /**
   * Handles a challenge; true when the request should be retried with new credentials. `sentAuth`:
   * the refused request carried credentials (so sending the same again is pointless). A request
   * sent before a concurrent one switched Basic on did not, and is retried.
   */
  private async answer(challenge: Challenge, request: RegistryRequest, sentAuth: boolean): Promise<boolean> {
    if (challenge.scheme === 'basic') {
      if ((this.basic && sentAuth) || !(await this.creds())) return false;
      this.basic = true;
      return true;
    }
    const realm = challenge.params.realm;
    if (!realm) return false;
    const url = new URL(realm);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    const scopes = request.scope
      ? [request.scope, ...(request.scope.also ?? [])].map((s) => `repository:${s.repository}:${s.actions.join(',')}`)
      : [];
    if (scopes.length === 0 && challenge.params.scope) scopes.push(challenge.params.scope);
    for (const s of scopes) url.searchParams.append('scope', s);
    const scope = scopes.join(' ');
    const creds = await this.creds();
    const response = await httpFetch(url, {
      headers: { 'User-Agent': this.userAgent, ...(creds ? { Authorization: basicAuth(creds) } : {}) },
      ...(request.signal ? { signal: request.signal } : {}),
    }).catch((err: unknown) => {
      throw new TsbuildError(
        'unavailable',
        `cannot reach the token service of ${this.host} (${redactUrl(url.toString())}): ${describeNetworkError(err)}`,
        { cause: err },
      );
    });
    const body = await response.text();
    if (!response.ok) {
      throw registryError(
        response,
        body,
        { method: 'GET', url: url.toString() },
        `a token for ${this.host}${scope ? ` (${scope})` : ''}`,
        creds ? undefined : `log in with: tsbuild login ${this.host}`,
      );
    }
    const parsed = JSON.parse(body) as { token?: string; access_token?: string; expires_in?: number };
    const value = parsed.token ?? parsed.access_token;
    if (!value) throw new TsbuildError('unavailable', `the token service of ${this.host} returned no token`);
    const lifetime = Math.max(parsed.expires_in ?? 60, 10) * 1000;
    // Renew a little early so a token never expires between check and use.
    this.tokens.set(scopeKey(request), { value, expires: Date.now() + lifetime - 5000 });
    return true;
  }
}

function scopeKey(request: RegistryRequest): string {
  const scope = request.scope;
  return scope ? [scope, ...(scope.also ?? [])].map((s) => `${s.repository}:${s.actions.join(',')}`).join(' ') : '';
}

function basicAuth(creds: Credentials): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
}

/** Parses `Bearer realm="…",service="…"` / `Basic realm="…"`. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  const scheme = match?.[1]?.toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'basic') return undefined;
  const params: Record<string, string> = {};
  for (const m of (match?.[2] ?? '').matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[(m[1] ?? '').toLowerCase()] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme, params };
}

function isTransient(err: unknown): boolean {
  const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
  return code !== undefined && RETRYABLE_ERRORS.has(code);
}

function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ? `${cause.code}${cause.message ? ` (${cause.message})` : ''}` : (err as Error).message;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
