/**
 * The error model shared by every module.
 *
 * Errors carry a category (`code`), an optional `hint` a user can act on, and the `cause` they wrap.
 * Callers test categories with the `is*` helpers, never by matching message text. The CLI maps
 * categories to exit statuses in exactly one place (`cli/main.ts`).
 */

/**
 * The closed set of error categories, after the causes a caller can act on (gRPC's status codes,
 * which containerd and BuildKit use, are the model):
 * - `invalid-argument`: the input can never succeed as given (a flag, a Dockerfile, an archive);
 * - `not-found` / `already-exists`: something named is missing / exists already;
 * - `permission-denied`: credentials refused or an entitlement not granted;
 * - `failed-precondition`: the machine lacks what the operation needs (a host tool, root);
 * - `digest-mismatch`: content is not what its digest or size says (damage or tampering);
 * - `unavailable`: a service or resource failed or did not answer; trying again may succeed;
 * - `cancelled`: the caller aborted (Ctrl-C, an AbortSignal);
 * - `command-failed`: a build's own command (RUN) did not succeed;
 * - `unsupported`: valid, but not implemented by tsbuild;
 * - `internal`: a bug in tsbuild.
 */
export type ErrorCode =
  | 'invalid-argument'
  | 'not-found'
  | 'already-exists'
  | 'permission-denied'
  | 'failed-precondition'
  | 'digest-mismatch'
  | 'unavailable'
  | 'cancelled'
  | 'command-failed'
  | 'unsupported'
  | 'internal';

/** What every error constructor takes besides its message. */
export interface ErrorOptions {
  hint?: string;
  cause?: unknown;
}

/** The build step an error comes from, as BuildKit names it when a build fails. */
export interface FailedStep {
  /** The progress name: `[build 2/3] RUN make`. */
  name: string;
  /** The stage's name (`build`, or `stage-1` when it has none). */
  stage: string;
  /** The Dockerfile as BuildKit prints it (`Dockerfile`, or the `-f` path). */
  file: string;
  /** The instruction's first and last lines. */
  line: number;
  endLine: number;
  /** BuildKit's excerpt: `Dockerfile:6`, then the lines around the step with it marked `>>>`. */
  excerpt: string;
  /** The step's last lines of output (a failed RUN's). */
  output: string[];
}

/** Base class of every error tsbuild throws on purpose. */
export class TsbuildError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  /** The build step that failed, set by the builder when the error comes from one. */
  step: FailedStep | undefined;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }

  /**
   * The text a user sees: the message, then the hint on its own line. Subclasses with a source
   * location (Dockerfile errors) add an excerpt.
   */
  describe(): string {
    return this.hint ? `${this.message}\n${this.hint}` : this.message;
  }
}

/** Input that can never succeed as given: a bad flag, a malformed Dockerfile, an unknown target. */
export class InvalidArgumentError extends TsbuildError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('invalid-argument', message, options);
  }
}

/** Something named does not exist: a file, a stage, a blob, a tag. */
export class NotFoundError extends TsbuildError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('not-found', message, options);
  }
}

/** Something to create exists already: a snapshot key, a tag. */
export class AlreadyExistsError extends TsbuildError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('already-exists', message, options);
  }
}

/** Credentials refused (HTTP 401/403) or an entitlement the caller did not grant. */
export class PermissionDeniedError extends TsbuildError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('permission-denied', message, options);
  }
}

/** The machine lacks what the operation needs: a host tool, root, a kernel feature. */
export class FailedPreconditionError extends TsbuildError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('failed-precondition', message, options);
  }
}

/** Content that is not what its digest or size says. */
export class IntegrityError extends TsbuildError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('digest-mismatch', message, options);
  }
}

/** A service, tool run or resource that failed or did not answer; trying again may succeed. */
export class UnavailableError extends TsbuildError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('unavailable', message, options);
  }
}

/** The caller aborted the operation. */
export class CancelledError extends TsbuildError {
  constructor(message = 'cancelled', options: ErrorOptions = {}) {
    super('cancelled', message, options);
  }
}

/** A feature that this version of tsbuild does not implement yet. */
export class UnsupportedError extends TsbuildError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('unsupported', message, options);
  }
}

/** A bug in tsbuild itself: the CLI asks the user to report it. */
export class InternalError extends TsbuildError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('internal', message, options);
  }
}

/** True when `err` is a tsbuild error of category `code`. */
export function hasCode(err: unknown, code: ErrorCode): boolean {
  return err instanceof TsbuildError && err.code === code;
}

export const isNotFound = (err: unknown): boolean => hasCode(err, 'not-found');
export const isInvalidArgument = (err: unknown): boolean => hasCode(err, 'invalid-argument');
export const isCancelled = (err: unknown): boolean => hasCode(err, 'cancelled');
