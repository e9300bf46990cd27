/**
 * Errors that point into a Dockerfile.
 *
 * Like BuildKit's `parser.WithLocation`, a `DockerfileError` carries the file name, a 1-based line
 * and column, and the physical source lines, so the CLI can print one line of cause followed by an
 * excerpt with a caret under the offending text.
 */
import { InvalidArgumentError } from '../errors.js';

/** A 1-based position in a Dockerfile. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** The lines an instruction spans, 1-based and inclusive. */
export interface SourceRange {
  start: SourcePosition;
  end: SourcePosition;
}

/** Where an error points: the file, the position and the text of that physical line. */
export interface ErrorLocation {
  file: string;
  position: SourcePosition;
  /** The physical line at `position.line`, as written (no trailing newline). */
  lineText: string;
  /** How many characters the caret underlines (at least 1). */
  length: number;
}

/** A syntax or semantic error in a Dockerfile, with its location. */
export class DockerfileError extends InvalidArgumentError {
  readonly location: ErrorLocation | undefined;
  /** The bare message without the location prefix. */
  readonly reason: string;

  constructor(reason: string, location?: ErrorLocation, options: { hint?: string; cause?: unknown } = {}) {
    const where = location ? `${location.file}:${location.position.line}:${location.position.column}: ` : '';
    super(`${where}${reason}`, options);
    this.reason = reason;
    this.location = location;
  }

  /** The message, the hint, then the source line with a caret under the offending text. */
  override describe(): string {
    const head = super.describe();
    if (!this.location) return head;
    const { position, lineText, length } = this.location;
    const gutter = String(position.line);
    const pad = ' '.repeat(gutter.length);
    // Tabs keep their width in the excerpt so the caret lines up under the text.
    const lead = lineText.slice(0, position.column - 1).replace(/[^\t]/g, ' ');
    return `${head}\n ${gutter} | ${lineText}\n ${pad} | ${lead}${'^'.repeat(Math.max(1, length))}`;
  }
}

/**
 * Where a piece of text sits inside an instruction: the first physical line (from `range.start`)
 * containing `needle`, or the instruction's first line when the text is not found verbatim (it may
 * have been assembled from continuation lines).
 */
export function locate(file: string, lines: readonly string[], range: SourceRange, needle?: string): ErrorLocation {
  if (needle) {
    for (let n = range.start.line; n <= range.end.line; n++) {
      const text = lines[n - 1] ?? '';
      const at = text.indexOf(needle);
      if (at >= 0) return { file, position: { line: n, column: at + 1 }, lineText: text, length: needle.length };
    }
  }
  const text = lines[range.start.line - 1] ?? '';
  const column = text.length - text.trimStart().length + 1;
  return { file, position: { line: range.start.line, column }, lineText: text, length: 1 };
}
