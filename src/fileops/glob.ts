/**
 * COPY source wildcards: Go's `filepath.Match` on one path segment — `*` (any run, not `/`), `?`
 * (one character), `[...]` classes negated with `^`, `\` escapes. `**` is not special here.
 */

/** True when the segment has an unescaped wildcard. */
export function hasWildcard(segment: string): boolean {
  return /(^|[^\\])[*?[]/.test(segment);
}

/** Compiles a segment pattern to a RegExp matching a whole name. */
export function segmentMatcher(pattern: string): RegExp {
  let source = '';
  const chars = Array.from(pattern);
  let inClass = false;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] ?? '';
    if (inClass) {
      if (ch === ']') {
        inClass = false;
        source += ']';
      } else if (ch === '\\') source += `\\${chars[++i] ?? '\\'}`;
      else source += ch === '[' ? '\\[' : ch;
    } else if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else if (ch === '[') {
      inClass = true;
      source += '[';
    } else if (ch === '\\') source += escape(chars[++i] ?? '\\');
    else source += escape(ch);
  }
  return new RegExp(`^${source}$`, 'su');
}

/** Removes `\` escapes from a segment without wildcards. */
export function unescapeSegment(segment: string): string {
  return segment.replace(/\\(.)/g, '$1');
}

function escape(ch: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(ch) ? `\\${ch}` : ch;
}
