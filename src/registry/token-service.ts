/**
 * Bearer tokens from a registry's token service, the distribution token spec's way:
 * `GET realm?service=…&scope=…`, with Basic auth when there are credentials.
 */
import { TsbuildError } from '../errors.js';
import type { Credentials } from './credentials.js';
import { httpFetch, type HttpTimeouts } from './http.js';
import { describeNetworkError } from './network-errors.js';
import { redactUrl, registryError } from './registry-error.js';

/** What to ask a token service for. */
export interface TokenRequest {
  /** The registry (for messages). */
  host: string;
  /** The challenge's `realm`, `service` and the scopes wanted. */
  realm: string;
  service?: string;
  scopes: string[];
  credentials?: Credentials;
  userAgent: string;
  timeouts: HttpTimeouts;
  signal?: AbortSignal;
}

/** A token and how long it lives. */
export interface IssuedToken {
  value: string;
  /** Seconds the token is valid for, as the service says (60 when it does not). */
  lifetime: number;
}

/** Fetches a token for `request.scopes`. */
export async function fetchToken(request: TokenRequest): Promise<IssuedToken> {
  const creds = request.credentials?.password ? request.credentials : undefined;
  return getToken(request, creds);
}

async function getToken(request: TokenRequest, basic: Credentials | undefined): Promise<IssuedToken> {
  const response = await send(request, basic);
  const body = await response.text();
  if (!response.ok) throw tokenError(request, response, body, 'GET', basic ? undefined : `log in with: tsbuild login ${request.host}`);
  return parseToken(request, body);
}

function tokenUrl(request: TokenRequest): URL {
  let url: URL;
  try {
    url = new URL(request.realm);
  } catch {
    throw new TsbuildError('unavailable', `the registry ${request.host} named an invalid token service: "${request.realm}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new TsbuildError('unavailable', `the registry ${request.host} named a token service that is not http(s): ${redactUrl(url.toString())}`);
  if (request.service) url.searchParams.set('service', request.service);
  for (const scope of request.scopes) url.searchParams.append('scope', scope);
  return url;
}

async function send(request: TokenRequest, basic?: Credentials): Promise<Response> {
  const method = 'GET';
  const url = tokenUrl(request);
  const headers: Record<string, string> = { 'User-Agent': request.userAgent };
  if (basic) headers.Authorization = `Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`;
  try {
    return await httpFetch(url, { method, headers, timeouts: request.timeouts, ...(request.signal ? { signal: request.signal } : {}) });
  } catch (err) {
    if (request.signal?.aborted) throw request.signal.reason ?? err;
    throw new TsbuildError(
      'unavailable',
      `cannot reach the token service of ${request.host} (${method} ${redactUrl(url.toString())}): ${describeNetworkError(err)}`,
      { cause: err },
    );
  }
}

function tokenError(request: TokenRequest, response: Response, body: string, method: 'GET', hint?: string): Error {
  const scope = request.scopes.join(' ');
  return registryError(response, body, { method, url: request.realm }, `a token for ${request.host}${scope ? ` (${scope})` : ''}`, hint);
}

/** Reads a token answer: `access_token` (OAuth2's name, which wins as in distribution's client) or `token`. */
function parseToken(request: TokenRequest, body: string): IssuedToken {
  let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    throw new TsbuildError('unavailable', `the token service of ${request.host} answered with something that is not JSON`);
  }
  const value = typeof parsed.access_token === 'string' && parsed.access_token !== '' ? parsed.access_token : parsed.token;
  if (typeof value !== 'string' || value === '') throw new TsbuildError('unavailable', `the token service of ${request.host} returned no token`);
  const lifetime = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 60;
  return { value, lifetime };
}
