/**
 * The `# check=` directive (or the `BUILDKIT_DOCKERFILE_CHECK` build-arg, which replaces it):
 * `skip=Rule1,Rule2` or `skip=all` turns rules off, `error=true` makes any finding fail the build,
 * `experimental=Rule|all` turns experimental rules on; options are separated by `;`. Parsed as
 * BuildKit's `linter.ParseLintOptions` parses it, quirks included: only the directive's first word
 * counts, and at most three `;` parts are split off.
 */
import { goQuote } from '../dockerfile/dump.js';

/** What the directive asks for. */
export interface LintConfig {
  skip: ReadonlySet<string>;
  skipAll: boolean;
  experimental: ReadonlySet<string>;
  experimentalAll: boolean;
  /** `error=true`: findings fail the build (and `--call=check`) instead of only warning. */
  error: boolean;
}

/** The configuration of a Dockerfile without a `# check=` directive. */
export const DEFAULT_CONFIG: LintConfig = { skip: new Set(), skipAll: false, experimental: new Set(), experimentalAll: false, error: false };

/** A `# check=` value that cannot be read; the message is BuildKit's. */
export class CheckOptionError extends Error {}

/** Go's strconv.ParseBool. */
function parseBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

/** Go's strings.SplitN: at most `n` parts, the last holding the rest. */
function splitN(text: string, separator: string, n: number): string[] {
  const parts: string[] = [];
  let rest = text;
  while (parts.length < n - 1) {
    const at = rest.indexOf(separator);
    if (at < 0) break;
    parts.push(rest.slice(0, at));
    rest = rest.slice(at + separator.length);
  }
  parts.push(rest);
  return parts;
}

const ruleList = (value: string): string[] => value.split(',').map((r) => r.trim());

/** Parses a check option string (`skip=A,B;error=true`); throws `CheckOptionError`. */
export function parseCheckOptions(text: string): LintConfig {
  const trimmed = text.trim();
  if (trimmed === '') return DEFAULT_CONFIG;
  let skip: string[] = [];
  let experimental: string[] = [];
  let skipAll = false;
  let experimentalAll = false;
  let error = false;
  for (const part of splitN(trimmed, ';', 3)) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new CheckOptionError(`invalid check option ${goQuote(part)}`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    switch (key) {
      case 'skip':
        if (value === 'all') skipAll = true;
        else skip = ruleList(value);
        break;
      case 'experimental':
        if (value === 'all') experimentalAll = true;
        else experimental = ruleList(value);
        break;
      case 'error': {
        const parsed = parseBool(value);
        if (parsed === undefined)
          throw new CheckOptionError(`failed to parse check option ${goQuote(part)}: strconv.ParseBool: parsing ${goQuote(value)}: invalid syntax`);
        error = parsed;
        break;
      }
      default:
        throw new CheckOptionError(`invalid check option ${goQuote(key)}`);
    }
  }
  return { skip: new Set(skip), skipAll, experimental: new Set(experimental), experimentalAll, error };
}

/** The value of a `# check=` directive as BuildKit reads it: up to the first space. */
export function directiveOptions(value: string): string {
  const space = value.indexOf(' ');
  return space < 0 ? value : value.slice(0, space);
}
