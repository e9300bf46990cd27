/**
 * Bearer tokens from a registry's token service, the two ways docker's clients ask for them:
 * - with a username and password (or none): `GET realm?service=…&scope=…` with Basic auth, the
 *   distribution token spec;
 * - with an identity token (`identitytoken` in docker's config.json, written by `az acr login`
 *   and by `docker login` against OAuth registries): the OAuth2 refresh-token grant, a form
 *   `POST realm` with `grant_type=refresh_token`, `refresh_token`, `service`, `scope` and
 *   `client_id`, as docker/distribution's client does. Token services that do not take the POST
 *   (GCR answered 404, Artifactory 401, ACR 400; 405 when a username is known) are asked with the
 *   GET instead, the identity token as Basic password, as containerd and BuildKit fall back.
 * A POST answer may carry a new refresh token; the caller uses it for the next exchange.
 */
import { UnavailableError } from '../errors.js';
import type { Credentials } from './credentials.js';
import { httpFetch, type HttpTimeouts } from '../http/http-fetch.js';
import { describeNetworkError } from '../http/network-errors.js';
import { redactUrl, registryError } from './registry-error.js';
import type { HttpResponse } from '../http/http-response.js';

/** What to ask a token service for. */
export interface TokenRequest {
  /** The registry (for messages). */
  host: string;
  /** The challenge's `realm`, `service` and the scopes wanted. */
  realm: string;
  service?: string;
  scopes: string[];
  credentials?: Credentials;
  /** The refresh token to exchange (the identity token, or one a previous exchange returned). */
  refreshToken?: string;
  userAgent: string;
  timeouts: HttpTimeouts;
  signal?: AbortSignal;
}

/** A token and how long it lives. */
export interface IssuedToken {
  value: string;
  /** Seconds the token is valid for, as the service says (60 when it does not). */
  lifetime: number;
  /** A replacement refresh token, when the service rotated it. */
  refreshToken?: string;
}

/** docker/distribution sends `registry-client`, containerd `containerd-client`; this is ours. */
export const OAUTH_CLIENT_ID = 'tsbuild';

/** Statuses with which token services refuse the OAuth POST they do not implement. */
const POST_UNSUPPORTED = new Set([400, 401, 404]);

/** Fetches a token for `request.scopes`, by refresh-token exchange when there is a refresh token. */
export async function fetchToken(request: TokenRequest): Promise<IssuedToken> {
  if (request.refreshToken) {
    const response = await send(request, 'POST', oauthForm(request, request.refreshToken));
    const body = await response.text();
    if (response.ok) return parseToken(request, body);
    const username = request.credentials?.username ?? '';
    if (!(POST_UNSUPPORTED.has(response.status) || (response.status === 405 && username !== ''))) throw tokenError(request, response, body, 'POST');
    return getToken(request, { username, password: request.refreshToken });
  }
  const creds = request.credentials?.password ? request.credentials : undefined;
  return getToken(request, creds);
}

async function getToken(request: TokenRequest, basic: Credentials | undefined): Promise<IssuedToken> {
  const response = await send(request, 'GET', undefined, basic);
  const body = await response.text();
  if (!response.ok) throw tokenError(request, response, body, 'GET', basic ? undefined : `log in with: tsbuild login ${request.host}`);
  return parseToken(request, body);
}

function oauthForm(request: TokenRequest, refreshToken: string): URLSearchParams {
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: OAUTH_CLIENT_ID });
  if (request.service) form.set('service', request.service);
  if (request.scopes.length > 0) form.set('scope', request.scopes.join(' '));
  return form;
}

function tokenUrl(request: TokenRequest, method: 'GET' | 'POST'): URL {
  let url: URL;
  try {
    url = new URL(request.realm);
  } catch {
    throw new UnavailableError(`the registry ${request.host} named an invalid token service: "${request.realm}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new UnavailableError(`the registry ${request.host} named a token service that is not http(s): ${redactUrl(url.toString())}`);
  if (method === 'GET') {
    if (request.service) url.searchParams.set('service', request.service);
    for (const scope of request.scopes) url.searchParams.append('scope', scope);
  }
  return url;
}

async function send(request: TokenRequest, method: 'GET' | 'POST', form?: URLSearchParams, basic?: Credentials): Promise<HttpResponse> {
  const url = tokenUrl(request, method);
  const headers: Record<string, string> = { 'User-Agent': request.userAgent };
  if (basic) headers.Authorization = `Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`;
  if (form) headers['Content-Type'] = 'application/x-www-form-urlencoded; charset=utf-8';
  try {
    return await httpFetch(url, {
      method,
      headers,
      timeouts: request.timeouts,
      ...(form ? { body: form.toString() } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    });
  } catch (err) {
    if (request.signal?.aborted) throw request.signal.reason ?? err;
    throw new UnavailableError(
      `cannot reach the token service of ${request.host} (${method} ${redactUrl(url.toString())}): ${describeNetworkError(err)}`,
      { cause: err },
    );
  }
}

function tokenError(request: TokenRequest, response: HttpResponse, body: string, method: 'GET' | 'POST', hint?: string): Error {
  const scope = request.scopes.join(' ');
  return registryError(response, body, { method, url: request.realm }, `a token for ${request.host}${scope ? ` (${scope})` : ''}`, hint);
}

/** Reads a token answer: `access_token` (OAuth2's name, which wins as in distribution's client) or `token`. */
function parseToken(request: TokenRequest, body: string): IssuedToken {
  let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown; refresh_token?: unknown };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    throw new UnavailableError(`the token service of ${request.host} answered with something that is not JSON`);
  }
  const value = typeof parsed.access_token === 'string' && parsed.access_token !== '' ? parsed.access_token : parsed.token;
  if (typeof value !== 'string' || value === '') throw new UnavailableError(`the token service of ${request.host} returned no token`);
  const lifetime = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 60;
  const rotated = typeof parsed.refresh_token === 'string' && parsed.refresh_token !== '' ? parsed.refresh_token : undefined;
  return { value, lifetime, ...(rotated ? { refreshToken: rotated } : {}) };
}
