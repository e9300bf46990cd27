/**
 * What can go wrong below HTTP, and which of it is worth another try. A registry that stops
 * talking is indistinguishable from a dead network path; tsbuild gives it a bounded time
 * (`HttpTimeoutError`) and then treats the silence like a reset: transient, retried where the
 * request can be repeated, resumed where a blob body was cut. A refused connection or a failed
 * name lookup is not transient: retrying it only delays the error.
 */

/** Which wait ran out. */
export type TimeoutPhase = 'connect' | 'response' | 'body';

/** A connection, a response or body bytes that did not come in time. */
export class HttpTimeoutError extends Error {
  /** The errno a kernel-level timeout has, so code that classifies by `code` treats both alike. */
  readonly code = 'ETIMEDOUT';

  constructor(
    readonly phase: TimeoutPhase,
    readonly ms: number,
  ) {
    super(timeoutMessage(phase, ms));
    this.name = 'HttpTimeoutError';
  }
}

function timeoutMessage(phase: TimeoutPhase, ms: number): string {
  const time = formatSeconds(ms);
  if (phase === 'connect') return `timed out connecting (no connection within ${time})`;
  if (phase === 'response') return `timed out waiting for the response (nothing received for ${time})`;
  return `timed out reading the body (nothing received for ${time})`;
}

/** `30 s`, `0.25 s`. */
export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/** Socket errors after which the same request may well succeed. */
const TRANSIENT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'ENETRESET']);

/** The error code of a socket error, directly or as fetch's `TypeError` cause. */
function codeOf(err: unknown): string | undefined {
  const direct = (err as { code?: unknown } | undefined)?.code;
  if (typeof direct === 'string') return direct;
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return typeof cause === 'string' ? cause : undefined;
}

/** True for resets, broken pipes and timeouts: worth a retry (or a resume). */
export function isTransientNetworkError(err: unknown): boolean {
  const code = codeOf(err);
  return code !== undefined && TRANSIENT_CODES.has(code);
}

/** A network failure in words: the timeout's sentence, else `CODE (message)`. */
export function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause ?? err;
  if (cause instanceof HttpTimeoutError) return cause.message;
  if (err instanceof HttpTimeoutError) return err.message;
  const code = codeOf(err);
  const message = (cause as { message?: string } | undefined)?.message;
  if (code) return message && message !== code ? `${code} (${message})` : code;
  return (err as Error).message;
}
