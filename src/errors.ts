/**
 * The error model shared by every module.
 *
 * Errors carry a category (`code`), an optional `hint` a user can act on, and the `cause` they wrap.
 * Callers test categories with the `is*` helpers, never by matching message text. The CLI maps
 * categories to exit statuses in exactly one place (`cli/main.ts`).
 */

/** The closed set of error categories. */
export type ErrorCode = 'invalid-argument' | 'not-found' | 'already-exists' | 'digest-mismatch' | 'unavailable' | 'unsupported' | 'internal';

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

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
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
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('invalid-argument', message, options);
  }
}

/** Something named does not exist: a file, a stage, a blob, a tag. */
export class NotFoundError extends TsbuildError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('not-found', message, options);
  }
}

/** Something to create exists already: a snapshot key, a tag. */
export class AlreadyExistsError extends TsbuildError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('already-exists', message, options);
  }
}

/** A feature that this version of tsbuild does not implement yet. */
export class UnsupportedError extends TsbuildError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('unsupported', message, options);
  }
}

/** A bug in tsbuild itself: the CLI asks the user to report it. */
export class InternalError extends TsbuildError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('internal', message, options);
  }
}

/** True when `err` is a tsbuild error of category `code`. */
export function hasCode(err: unknown, code: ErrorCode): boolean {
  return err instanceof TsbuildError && err.code === code;
}

export const isNotFound = (err: unknown): boolean => hasCode(err, 'not-found');
export const isInvalidArgument = (err: unknown): boolean => hasCode(err, 'invalid-argument');
