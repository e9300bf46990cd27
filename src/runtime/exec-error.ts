/**
 * A RUN that did not succeed: the argv, the exit code or signal, and the tail of its output.
 * BuildKit's wording: `process "/bin/sh -c exit 3" did not complete successfully: exit code: 3`.
 */
import { TsbuildError } from '../errors.js';

export class ExecError extends TsbuildError {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number,
    readonly signal: string | undefined,
    readonly tail: string,
  ) {
    const how = signal ? `killed by ${signal}` : `exit code: ${exitCode}`;
    super('command-failed', `process "${args.join(' ')}" did not complete successfully: ${how}`);
  }

  /** The message and the last lines of output, indented. */
  override describe(): string {
    const lines = this.tail.trimEnd().split('\n').slice(-10);
    return lines.length > 0 && lines[0] !== '' ? `${this.message}\n${lines.map((l) => `  | ${l}`).join('\n')}` : this.message;
  }
}
