/**
 * Parser directives (`# syntax=`, `# escape=`, `# check=`) at the top of a Dockerfile.
 *
 * `dockerfile-ast` finds them: it applies the "only before the first non-directive line" rule, the
 * case-insensitive names and a leading byte-order mark exactly as BuildKit does. We add BuildKit's
 * validation on top: a repeated directive and an escape character other than `\` or `` ` `` are errors.
 */
import { createRequire } from 'node:module';
import type { DockerfileParser as Parser } from 'dockerfile-ast';
import { DockerfileError, type ErrorLocation } from './errors.js';

/**
 * `dockerfile-ast` is loaded only for a Dockerfile whose first line is a comment (directives can be
 * nowhere else): it is most of the front end's start-up cost, and most Dockerfiles have none.
 */
let parser: typeof Parser | undefined;
function directiveParser(): typeof Parser {
  parser ??= (createRequire(import.meta.url)('dockerfile-ast') as { DockerfileParser: typeof Parser }).DockerfileParser;
  return parser;
}

/** The directives of one Dockerfile. */
export interface Directives {
  /** The escape character: `\` unless `# escape=`` ` ``. */
  escape: string;
  syntax?: string;
  /** The line of `# syntax=`, for the warning that tsbuild does not fetch that frontend. */
  syntaxLine?: number;
  /** The `# check=` value as written (`skip=JSONArgsRecommended;error=true`). */
  check?: string;
  /** The line of `# check=`, to place an error in its value. */
  checkLine?: number;
}

const KNOWN = new Set(['syntax', 'escape', 'check']);

/**
 * Reads and validates the directives of `text`; `file` and `lines` place errors. Also returns the
 * (1-based) lines they are on: comments there are directives, not descriptions.
 */
export function readDirectives(text: string, file: string, lines: readonly string[]): { directives: Directives; lines: Set<number> } {
  const found: Directives = { escape: '\\' };
  const at = new Set<number>();
  if (!/^\uFEFF?[ \t]*#/.test(text)) return { directives: found, lines: at };
  const seen = new Set<string>();
  for (const directive of directiveParser().parse(text).getDirectives()) {
    const name = directive.getName().toLowerCase();
    if (!KNOWN.has(name)) continue;
    const line = directive.getRange().start.line + 1;
    const lineText = lines[line - 1] ?? '';
    const location: ErrorLocation = {
      file,
      position: { line, column: lineText.length - lineText.trimStart().length + 1 },
      lineText,
      length: lineText.trim().length,
    };
    if (seen.has(name)) throw new DockerfileError(`only one ${name} parser directive can be used`, location);
    seen.add(name);
    at.add(line);
    const value = directive.getValue();
    if (name === 'escape') {
      if (value !== '\\' && value !== '`') {
        throw new DockerfileError(`invalid escape token '${value}' does not match \` or \\`, location);
      }
      found.escape = value;
    } else if (name === 'syntax') {
      found.syntax = value;
      found.syntaxLine = line;
    } else {
      found.check = value;
      found.checkLine = line;
    }
  }
  return { directives: found, lines: at };
}
