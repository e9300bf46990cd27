/**
 * `.dockerignore` matching with the reference matcher's behaviour (moby/patternmatcher, which
 * BuildKit uses), pinned by the 116 cases of `shared/conformance/dockerignore-cases.md`:
 * - patterns are cleaned like Go's `path.Clean` and anchored at the context root;
 * - `*` and `?` stay within a path segment, `**` spans segments, `[...]` classes negate with `^`,
 *   `\` escapes; a leading `**` without wildcards is a suffix test, a trailing `/**` a prefix test;
 * - a pattern *hits* a path when it matches the path or any parent directory; the last pattern that
 *   hits decides (`!` = include again);
 * - malformed globs (Go's `filepath.Match` rules) are errors when the file is read; a backwards
 *   range only fails when matching.
 */
import path from 'node:path/posix';
import { InvalidArgumentError } from '../errors.js';

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

/** One compiled pattern. */
export interface IgnorePattern {
  /** The cleaned pattern text (without `!`). */
  pattern: string;
  exclusion: boolean;
  matchType: MatchType;
  regexp?: RegExp;
  /** A compile error deferred to match time (backwards class range). */
  error?: string;
}

/** Compiled ignore rules. */
export class IgnoreMatcher {
  constructor(readonly patterns: readonly IgnorePattern[]) {}

  /** True when there are `!` patterns (the walker then has to look inside excluded directories). */
  get hasExclusions(): boolean {
    return this.patterns.some((p) => p.exclusion);
  }

  /** True when the context-relative `file` (`/`-separated) is excluded. The root is never excluded. */
  excludes(file: string): boolean {
    const clean = path.normalize(file).replace(/^\/+|\/+$/g, '');
    if (clean === '' || clean === '.') return false;
    const parents = clean
      .split('/')
      .slice(0, -1)
      .map((_, i, parts) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const p of this.patterns) {
      if (p.exclusion === !excluded) continue; // this pattern cannot change the outcome
      if (matchPattern(p, clean) || parents.some((parent) => matchPattern(p, parent))) excluded = !p.exclusion;
    }
    return excluded;
  }
}

/** Reads a `.dockerignore` file. Throws InvalidArgumentError for a bare `!` or a malformed glob. */
export function parseDockerignore(text: string, file = '.dockerignore'): IgnoreMatcher {
  const lines = text.replace(/^\ufeff/, '').split('\n');
  const patterns: IgnorePattern[] = [];
  lines.forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith('#')) return;
    let pattern = line.trim();
    if (pattern === '') return;
    let exclusion = false;
    if (pattern.startsWith('!')) {
      pattern = pattern.slice(1).trim();
      exclusion = true;
      if (pattern === '') throw new InvalidArgumentError(`${file}:${index + 1}: illegal exclusion pattern: "!"`);
    }
    pattern = cleanPattern(pattern);
    const invalid = globSyntaxError(pattern);
    if (invalid) throw new InvalidArgumentError(`${file}:${index + 1}: invalid pattern "${line.trim()}": ${invalid}`);
    patterns.push(compile(pattern, exclusion));
  });
  return new IgnoreMatcher(patterns);
}

/** Go's `path.Clean`, then one leading `/` dropped (`/`, alone, stays). */
function cleanPattern(pattern: string): string {
  const cleaned = path.normalize(pattern).replace(/(.)\/+$/, '$1');
  return cleaned === '/' ? '/' : cleaned.replace(/^\//, '').replace(/^\.\/?$/, '.') || '.';
}

/** Validates glob syntax as Go's `filepath.Match` does; returns the problem or undefined. */
function globSyntaxError(pattern: string): string | undefined {
  const chars = Array.from(pattern);
  let i = 0;
  const escaped = (): string | undefined => {
    let ch = chars[i];
    if (ch === undefined || ch === '-' || ch === ']') return undefined;
    if (ch === '\\') {
      i++;
      ch = chars[i];
      if (ch === undefined) return undefined;
    }
    i++;
    return ch;
  };
  while (i < chars.length) {
    const ch = chars[i];
    if (ch === '\\') {
      if (i + 1 >= chars.length) return 'trailing backslash';
      i += 2;
    } else if (ch === '[') {
      i++;
      if (chars[i] === '^') i++;
      let ranges = 0;
      for (;;) {
        if (chars[i] === ']' && ranges > 0) {
          i++;
          break;
        }
        const lo = escaped();
        if (lo === undefined) return 'malformed character class';
        if (chars[i] === '-') {
          i++;
          if (escaped() === undefined) return 'malformed character range';
        }
        ranges++;
      }
    } else {
      i++;
    }
  }
  return undefined;
}

const REGEX_SYNTAX = /[\\^$.*+?()[\]{}|/]/;

/** Compiles like patternmatcher: exact, prefix (`x/**`), suffix (`**x`) or a regular expression. */
function compile(pattern: string, exclusion: boolean): IgnorePattern {
  const chars = Array.from(pattern);
  let source = '^';
  let type: MatchType = 'exact';
  let inClass = false;
  for (let i = 0, pos = 0; pos < chars.length; i++) {
    const ch = chars[pos++] ?? '';
    if (ch === '*' && !inClass) {
      if (chars[pos] === '*') {
        pos++;
        if (chars[pos] === '/') pos++;
        if (pos >= chars.length) {
          if (type === 'exact') type = 'prefix';
          else {
            source += '.*';
            type = 'regexp';
          }
        } else {
          source += '(.*/)?';
          type = 'regexp';
        }
        if (i === 0) type = 'suffix';
      } else {
        source += '[^/]*';
        type = 'regexp';
      }
    } else if (ch === '?' && !inClass) {
      source += '[^/]';
      type = 'regexp';
    } else if (ch === '\\') {
      const next = chars[pos++];
      source += next === undefined ? '\\\\' : escapedChar(next, inClass);
      type = 'regexp';
    } else if (ch === '[' && !inClass) {
      inClass = true;
      source += '[';
      type = 'regexp';
    } else if (ch === ']' && inClass) {
      inClass = false;
      source += ']';
    } else {
      // Inside a class, `-` and `^` keep their meaning; outside, every character is literal.
      source += inClass ? ch : escapedChar(ch, false);
    }
  }
  const compiled: IgnorePattern = { pattern, exclusion, matchType: type };
  if (type === 'regexp') {
    try {
      compiled.regexp = new RegExp(`${source}$`, 'u');
    } catch (err) {
      compiled.error = (err as Error).message;
    }
  }
  return compiled;
}

/** `ch` as a literal in a JavaScript `u` regular expression (which rejects needless escapes). */
function escapedChar(ch: string, inClass: boolean): string {
  if (inClass) return ch === '\\' || ch === ']' || ch === '[' || ch === '^' || ch === '-' ? `\\${ch}` : ch;
  return REGEX_SYNTAX.test(ch) ? `\\${ch}` : ch;
}

function matchPattern(p: IgnorePattern, file: string): boolean {
  switch (p.matchType) {
    case 'exact':
      return file === p.pattern;
    case 'prefix':
      return file.startsWith(p.pattern.slice(0, -2));
    case 'suffix': {
      const suffix = p.pattern.slice(2);
      return file.endsWith(suffix) || (suffix.startsWith('/') && file === suffix.slice(1));
    }
    case 'regexp':
      if (p.error !== undefined) throw new InvalidArgumentError(`invalid .dockerignore pattern "${p.pattern}": ${p.error}`);
      return p.regexp?.test(file) ?? false;
  }
}
