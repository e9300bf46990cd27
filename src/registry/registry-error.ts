/**
 * Errors from a registry: which registry and repository, the request (method and URL without its
 * query, where signed storage URLs keep secrets), the HTTP status and the OCI error codes, in one
 * line: `unauthorized: authentication required for localhost:5000/app (GET
 * http://localhost:5000/v2/app/manifests/1.0 → 401)`; after retries, how many attempts were made.
 */
import { TsbuildError, type ErrorCode } from '../errors.js';

/** One entry of the OCI distribution error body (`{"errors":[{code,message,detail}]}`). */
export interface OciErrorEntry {
  code: string;
  message?: string;
}

/** A failed registry request. */
export class RegistryError extends TsbuildError {
  constructor(
    message: string,
    readonly status: number,
    readonly method: string,
    readonly url: string,
    readonly codes: readonly string[],
    options: { hint?: string; cause?: unknown; code?: ErrorCode } = {},
  ) {
    super(options.code ?? categoryOf(status), message, options);
  }
}

function categoryOf(status: number): ErrorCode {
  if (status === 404) return 'not-found';
  if (status === 401 || status === 403) return 'permission-denied';
  if (status === 400) return 'invalid-argument';
  return 'unavailable';
}

/** Attempts made for responses that are the last of several (the transport notes them). */
const attempts = new WeakMap<object, number>();

/** Records that `response` is what the last of `count` attempts got. */
export function noteAttempts(response: object, count: number): void {
  attempts.set(response, count);
}

/** The URL without credentials or query (tokens travel in queries on some registries). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

/** Reads the OCI error entries from a response body (empty when it has none). */
export function parseErrorBody(body: string): OciErrorEntry[] {
  try {
    const parsed = JSON.parse(body) as { errors?: unknown };
    if (!Array.isArray(parsed.errors)) return [];
    return parsed.errors.flatMap((e: unknown) => {
      const entry = e as { code?: unknown; message?: unknown };
      return typeof entry.code === 'string' ? [{ code: entry.code, ...(typeof entry.message === 'string' ? { message: entry.message } : {}) }] : [];
    });
  } catch {
    return [];
  }
}

/**
 * Builds the error for a response: the first OCI code in words (`MANIFEST_UNKNOWN` → `manifest
 * unknown`), its message, what it was about, and the request.
 */
export function registryError(
  response: { status: number; statusText?: string } & object,
  body: string,
  request: { method: string; url: string },
  about: string,
  hint?: string,
): RegistryError {
  const entries = parseErrorBody(body);
  const first = entries[0];
  const code = first ? first.code.toLowerCase().replace(/_/g, ' ') : statusWords(response.status);
  const detail = first?.message && first.message.toLowerCase() !== code ? first.message : '';
  // "unauthorized: authentication required for X"; a 404 without more to say: "X not found";
  // anything else without words: "service unavailable for X".
  // A body-less answer (HEAD) still says what it means: the registry's own words for 401 and 403.
  const implied: Record<number, string> = { 401: 'authentication required', 403: 'requested access to the resource is denied' };
  const said = detail || (first ? '' : (implied[response.status] ?? ''));
  const what = said ? `: ${said} for ${about}` : response.status === 404 ? `: ${about} not found` : ` for ${about}`;
  const count = attempts.get(response);
  const tries = count && count > 1 ? `, ${count} attempts` : '';
  const message = `${code}${what} (${request.method} ${redactUrl(request.url)} → ${response.status}${tries})`;
  return new RegistryError(
    message,
    response.status,
    request.method,
    redactUrl(request.url),
    entries.map((e) => e.code),
    hint ? { hint } : {},
  );
}

function statusWords(status: number): string {
  const words: Record<number, string> = {
    400: 'bad request',
    401: 'unauthorized',
    403: 'denied',
    404: 'not found',
    405: 'unsupported',
    429: 'too many requests',
    500: 'internal server error',
    502: 'bad gateway',
    503: 'service unavailable',
    504: 'gateway timeout',
  };
  return words[status] ?? `HTTP ${status}`;
}
