/**
 * HTTP to one registry endpoint, with the distribution spec's auth dance, time limits and retries:
 * - a 401 with `WWW-Authenticate: Bearer realm=…,service=…,scope=…` gets a token from the realm
 *   (`token-service.ts`: Basic credentials, or an identity token's OAuth2 exchange) and is sent
 *   again; tokens are reused per scope until they expire; `Basic` challenges are answered with
 *   the stored username and password;
 * - every request has a connect timeout and an idle timeout (`http.ts`); defaults are BuildKit's
 *   and containerd's 30 s dial timeout, and 60 s of silence;
 * - 429 and 5xx answers, resets and timeouts are retried (`retry-policy.ts`) where the request
 *   can be repeated; when the retries run out, the last answer is returned (marked with the
 *   number of attempts, which `registryError` reports) or the network failure thrown as one line;
 * - redirects are followed, dropping `Authorization` when leaving the origin (blob storage gets
 *   no registry credentials); requests go through `http.ts`, fetch's semantics over `node:http`.
 */
import { TsbuildError, UnavailableError } from '../errors.js';
import { httpFetch, type HttpInit, type HttpTimeouts } from '../http/http-fetch.js';
import type { CredentialSource, Credentials } from './credentials.js';
import { describeNetworkError, isTransientNetworkError } from '../http/network-errors.js';
import { noteAttempts, redactUrl } from './registry-error.js';
import { backoffDelay, canRepeat, DEFAULT_RETRY_POLICY, isRetryableStatus, retryAfterMs, sleep, type RetryPolicy } from './retry-policy.js';
import { fetchToken } from './token-service.js';
import type { HttpResponse } from '../http/http-response.js';

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
  /** How many times to retry a failed request that can be repeated (default 4). */
  retries?: number;
  /** Base backoff in ms: retry n waits between half and all of `backoffMs * 2^n` (default 200). */
  backoffMs?: number;
  /** The longest computed backoff (default 10 s; a `Retry-After` may ask for up to 60 s). */
  maxBackoffMs?: number;
  /** For a connection to be established, TCP and TLS (default 30 s, as BuildKit and containerd). */
  connectTimeoutMs?: number;
  /** For the next byte from the registry: the response, then each piece of a body (default 60 s). */
  idleTimeoutMs?: number;
  userAgent?: string;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

interface Challenge {
  scheme: 'bearer' | 'basic';
  params: Record<string, string>;
}

interface Token {
  value: string;
  expires: number;
}

/** HTTP to one registry endpoint. */
export class RegistryTransport {
  readonly policy: RetryPolicy;
  readonly timeouts: Required<HttpTimeouts>;
  private readonly tokens = new Map<string, Token>();
  private basic = false;
  private credentials: Promise<Credentials | undefined> | undefined;
  /** The refresh token to exchange next: the identity token, until a token service rotates it. */
  private refreshToken: string | undefined;
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
    this.policy = {
      retries: options.retries ?? DEFAULT_RETRY_POLICY.retries,
      backoffMs: options.backoffMs ?? DEFAULT_RETRY_POLICY.backoffMs,
      maxBackoffMs: options.maxBackoffMs ?? DEFAULT_RETRY_POLICY.maxBackoffMs,
    };
    this.timeouts = {
      connectMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      idleMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    };
    this.userAgent = options.userAgent ?? 'tsbuild/0.1';
  }

  /** The absolute URL of `path`. */
  url(path: string): string {
    return path.startsWith('http') ? path : `${this.base}${path}`;
  }

  /** Sends `request`, answering auth challenges and retrying transient failures. */
  async fetch(request: RegistryRequest): Promise<HttpResponse> {
    const url = this.url(request.path);
    const repeatable = canRepeat(request.method, request.body);
    let attempt = 0;
    let challenged = false;
    for (;;) {
      let response: HttpResponse;
      let auth: Record<string, string>;
      try {
        auth = await this.authHeaders(request);
        response = await httpFetch(url, {
          method: request.method,
          headers: { 'User-Agent': this.userAgent, ...auth, ...(request.headers ?? {}) },
          timeouts: this.timeouts,
          ...(request.body === undefined ? {} : { body: request.body }),
          ...(request.signal ? { signal: request.signal } : {}),
        });
      } catch (err) {
        if (request.signal?.aborted) throw request.signal.reason ?? err;
        if (err instanceof TsbuildError) throw err;
        if (repeatable && isTransientNetworkError(err) && attempt < this.policy.retries) {
          await this.backoff(attempt++, request.signal);
          continue;
        }
        throw this.networkFailure(request, err, attempt + 1);
      }
      if (response.status === 401 && !challenged) {
        const challenge = parseChallenge(response.headers.get('www-authenticate'));
        if (challenge && (await this.answer(challenge, request, auth.Authorization !== undefined))) {
          challenged = true;
          await response.body?.cancel();
          continue;
        }
      }
      if (isRetryableStatus(response.status) && repeatable) {
        if (attempt < this.policy.retries) {
          const wait = retryAfterMs(response.headers.get('retry-after')) ?? backoffDelay(this.policy, attempt);
          await response.body?.cancel();
          await sleep(wait, request.signal);
          attempt++;
          continue;
        }
        noteAttempts(response, attempt + 1);
      }
      return response;
    }
  }

  /** Waits before retry number `attempt` (0-based). */
  backoff(attempt: number, signal?: AbortSignal): Promise<void> {
    return sleep(backoffDelay(this.policy, attempt), signal);
  }

  /**
   * The one-line error for a request that failed below HTTP: before its response (`cannot reach
   * registry H (GET url): ECONNRESET (…)`), or while reading the body of `what`.
   */
  networkFailure(request: Pick<RegistryRequest, 'method' | 'path'>, err: unknown, attempts: number, what?: string): TsbuildError {
    const where = `registry ${this.host} (${request.method} ${redactUrl(this.url(request.path))})`;
    const tries = attempts > 1 ? ` (${attempts} attempts)` : '';
    return new UnavailableError(`${what ? `cannot read ${what} from` : 'cannot reach'} ${where}: ${describeNetworkError(err)}${tries}`, {
      cause: err,
    });
  }

  private async creds(): Promise<Credentials | undefined> {
    this.credentials ??= (this.options.credentials?.get(this.host) ?? Promise.resolve(undefined)).then((creds) => {
      this.refreshToken = creds?.identityToken;
      return creds;
    });
    return this.credentials;
  }

  private async authHeaders(request: RegistryRequest): Promise<Record<string, string>> {
    const token = this.tokens.get(scopeKey(request));
    if (token && token.expires > Date.now()) return { Authorization: `Bearer ${token.value}` };
    if (this.basic) {
      const creds = await this.creds();
      if (creds?.password) return { Authorization: basicAuth(creds) };
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
      // An identity token is for token services only; it is never a registry password.
      if ((this.basic && sentAuth) || !(await this.creds())?.password) return false;
      this.basic = true;
      return true;
    }
    const realm = challenge.params.realm;
    if (!realm) return false;
    const scopes = request.scope
      ? [request.scope, ...(request.scope.also ?? [])].map((s) => `repository:${s.repository}:${s.actions.join(',')}`)
      : [];
    if (scopes.length === 0 && challenge.params.scope) scopes.push(challenge.params.scope);
    const creds = await this.creds();
    const issued = await fetchToken({
      host: this.host,
      realm,
      ...(challenge.params.service ? { service: challenge.params.service } : {}),
      scopes,
      ...(creds ? { credentials: creds } : {}),
      ...(this.refreshToken ? { refreshToken: this.refreshToken } : {}),
      userAgent: this.userAgent,
      timeouts: this.timeouts,
      ...(request.signal ? { signal: request.signal } : {}),
    });
    if (issued.refreshToken) this.refreshToken = issued.refreshToken;
    const lifetime = Math.max(issued.lifetime, 10) * 1000;
    // Renew a little early so a token never expires between check and use.
    this.tokens.set(scopeKey(request), { value: issued.value, expires: Date.now() + lifetime - 5000 });
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
