/**
 * When a failed registry request is tried again, and how long to wait first. The rules are
 * containerd's and the distribution spec's: 429 and the gateway-ish 5xx answers, resets and
 * timeouts are transient; a request is repeated only when repeating it cannot do something twice
 * (GET, HEAD, PUT, DELETE) and its body can be sent again. Waits grow exponentially with jitter,
 * so the clients a registry outage hit together do not come back together; a `Retry-After` the
 * registry sends wins over the computed wait.
 */
import type { HttpInit } from '../http/http-fetch.js';

/** How often and how patiently to retry. */
export interface RetryPolicy {
  /** Retries after the first attempt (so `retries + 1` attempts in all). */
  retries: number;
  /** The base wait: attempt n waits between half and all of `backoffMs * 2^n`. */
  backoffMs: number;
  /** No computed wait is longer than this. */
  maxBackoffMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 4, backoffMs: 200, maxBackoffMs: 10_000 };

/** The longest `Retry-After` honoured; a registry asking for more is asked again after this. */
const MAX_RETRY_AFTER_MS = 60_000;

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/** True for answers that say "not now" rather than "no". */
export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUS.has(status);
}

/** True when the request may be sent again: idempotent, and its body (if any) is still in hand. */
export function canRepeat(method: string, body: HttpInit['body']): boolean {
  return IDEMPOTENT.has(method) && (body === undefined || typeof body === 'string' || body instanceof Uint8Array);
}

/**
 * The wait before retry number `attempt` (0-based): "equal jitter", half of the exponential step
 * fixed and half random, so waits still grow but never synchronise.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const step = Math.min(policy.backoffMs * 2 ** attempt, policy.maxBackoffMs);
  return Math.round(step / 2 + (step / 2) * random());
}

/** A `Retry-After` value (seconds, or an HTTP date) in ms from `now`; undefined when absent or unusable. */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const value = header.trim();
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
