/**
 * The low-level parse tree: one `Node` per instruction, shaped exactly like BuildKit's
 * `parser.Node` (keyword, flags, argument nodes, ONBUILD trigger, heredocs).
 *
 * This level does no validation beyond what BuildKit's line parser does: unknown keywords and flags
 * pass, quotes stay in ENV/LABEL/ARG values, nothing is expanded. `instructions.ts` turns nodes into
 * typed instructions.
 */
import type { SourceRange } from './errors.js';

/** A here-document attached to RUN, COPY or ADD. */
export interface Heredoc {
  /** The delimiter word with quotes removed (`EOF` for `<<"EOF"`). */
  name: string;
  /** The body: every line up to the terminator, each with its `\n`; leading tabs not yet removed. */
  content: string;
  /** True for an unquoted delimiter: the body is subject to variable expansion (COPY/ADD). */
  expand: boolean;
  /** True for `<<-`: leading tabs are stripped from body lines. */
  chomp: boolean;
  /** The file descriptor of `3<<EOF`, when given. */
  fd?: number;
}

/** One instruction of the parse tree. */
export interface Node {
  /** The keyword, lowercased (`run`, `from`, or an unknown word). */
  keyword: string;
  /** The keyword as written. */
  keywordText: string;
  /** Flags (`--from=build`) with quotes and escapes removed, in order. */
  flags: string[];
  /** The argument nodes, per BuildKit's rules for the keyword. */
  args: string[];
  /** True when the arguments were given in JSON array form. */
  json: boolean;
  /** The trigger of an `ONBUILD`. */
  trigger?: Node;
  heredocs: Heredoc[];
  /** The logical line as assembled from its physical lines (without heredoc bodies). */
  original: string;
  /** The physical lines the instruction spans, heredoc bodies included. */
  range: SourceRange;
  /**
   * The comment lines right above the instruction (BuildKit's `PrevComment`): text after `#`,
   * trimmed; an empty `#` line starts the list again. Stage and ARG descriptions come from them.
   */
  comments: string[];
}

/** Reports a parse error; `needle` is text to put the caret under. */
export type Fail = (message: string, needle?: string) => never;

/** Characters BuildKit's parser treats as whitespace between words. */
const WHITESPACE = /[\t\v\f\r ]+/;
const isWhite = (ch: string): boolean => ch === ' ' || ch === '\t' || ch === '\v' || ch === '\f' || ch === '\r';

/** Splits `line` into keyword and the text after it. */
export function splitKeyword(line: string): { keyword: string; rest: string } {
  const trimmed = line.trim();
  const match = WHITESPACE.exec(trimmed);
  if (!match) return { keyword: trimmed, rest: '' };
  return { keyword: trimmed.slice(0, match.index), rest: trimmed.slice(match.index + match[0].length) };
}

/**
 * Takes the leading `--flag` words off `rest`. Quotes group text and are removed, the escape
 * character keeps the next character literally, and a bare `--` ends the flags unrecorded.
 */
export function extractFlags(rest: string, escape: string): { flags: string[]; rest: string } {
  const chars = Array.from(rest);
  const flags: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < chars.length && /\s/u.test(chars[pos] ?? '')) pos++;
    if (chars[pos] !== '-' || chars[pos + 1] !== '-') return { flags, rest: chars.slice(pos).join('') };
    let word = '';
    let quote = '';
    let quoted = false;
    for (; pos < chars.length; pos++) {
      const ch = chars[pos] ?? '';
      if (quote) {
        if (ch === quote) quote = '';
        else if (ch === escape && pos + 1 < chars.length) word += chars[++pos];
        else if (ch !== escape) word += ch;
        continue;
      }
      if (/\s/u.test(ch)) break;
      if (ch === "'" || ch === '"') {
        quote = ch;
        quoted = true;
      } else if (ch === escape) {
        if (pos + 1 < chars.length) word += chars[++pos];
      } else {
        word += ch;
      }
    }
    if (word === '--') return { flags, rest: chars.slice(pos).join('') };
    if (word.length > 0 || quoted) flags.push(word);
  }
}

/** Splits on whitespace runs without regard to quotes. */
export function splitWhitespace(rest: string): string[] {
  const trimmed = rest.replace(/^[\t\v\f\r ]+|[\t\v\f\r ]+$/g, '');
  return trimmed === '' ? [] : trimmed.split(WHITESPACE);
}

/**
 * JSON array form: `rest` starts with `[` and is a valid JSON array. A valid array with a
 * non-string element is an error; anything that is not valid JSON is not JSON form (undefined).
 */
export function parseJsonArray(rest: string, fail: Fail): string[] | undefined {
  const text = rest.trimStart();
  if (!text.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v) => typeof v === 'string')) {
    fail('when using JSON array syntax, arrays must be comprised of strings only', text);
  }
  return value;
}

/**
 * Quote-aware words for ARG, ENV and LABEL: whitespace outside quotes separates words, quotes and
 * escape characters are kept verbatim.
 */
export function quoteAwareWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  const chars = Array.from(rest);
  let word = '';
  let inWord = false;
  let quote = '';
  for (let pos = 0; pos < chars.length; pos++) {
    const ch = chars[pos] ?? '';
    if (!quote && isWhite(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === escape && quote !== "'") {
      if (pos + 1 === chars.length) break; // a trailing escape character is dropped
      word += ch + chars[++pos];
      continue;
    }
    if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    }
    word += ch;
  }
  if (inWord) words.push(word);
  return words;
}

/** ENV and LABEL: key/value/separator triples, legacy `KEY value` or `k=v k2=v2`. */
function nameValueArgs(keyword: string, rest: string, escape: string, fail: Fail): string[] {
  const words = quoteAwareWords(rest, escape);
  if (words.length === 0) return [];
  if (!(words[0] ?? '').includes('=')) {
    const parts = rest.trim().split(WHITESPACE);
    if (parts.length < 2) fail(`${keyword.toUpperCase()} must have two arguments`);
    const key = parts[0] ?? '';
    const value = rest
      .trim()
      .slice(key.length)
      .replace(/^[\t\v\f\r ]+/, '');
    return [key, value, ''];
  }
  const args: string[] = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) fail(`Syntax error - can't find = in "${word}". Must be of the form: name=value`, word);
    args.push(word.slice(0, eq), word.slice(eq + 1), '=');
  }
  return args;
}

/** The argument nodes of an instruction, per BuildKit's per-keyword rules. */
export function argumentNodes(keyword: string, rest: string, escape: string, fail: Fail): { args: string[]; json: boolean } {
  switch (keyword) {
    case 'from':
    case 'expose':
      return { args: splitWhitespace(rest), json: false };
    case 'add':
    case 'copy':
    case 'volume': {
      const list = parseJsonArray(rest, fail);
      return list ? { args: list, json: true } : { args: splitWhitespace(rest), json: false };
    }
    case 'run':
    case 'cmd':
    case 'entrypoint':
    case 'shell':
      return maybeJson(rest, fail);
    case 'maintainer':
    case 'user':
    case 'workdir':
    case 'stopsignal': {
      const text = rest.trim();
      return { args: text === '' ? [] : [text], json: false };
    }
    case 'healthcheck': {
      const { keyword: type, rest: command } = splitKeyword(rest);
      if (type === '') return { args: [], json: false };
      const tail = maybeJson(command, fail);
      return { args: [type, ...tail.args], json: tail.json };
    }
    case 'arg':
      return { args: quoteAwareWords(rest, escape), json: false };
    case 'env':
    case 'label':
      return { args: nameValueArgs(keyword, rest, escape, fail), json: false };
    default:
      return { args: [''], json: false };
  }
}

function maybeJson(rest: string, fail: Fail): { args: string[]; json: boolean } {
  const list = parseJsonArray(rest, fail);
  if (list) return { args: list, json: true };
  const text = rest.trim();
  return { args: text === '' ? [] : [text], json: false };
}
