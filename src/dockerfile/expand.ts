/**
 * Shell-word expansion: the small POSIX-shell subset Dockerfiles use for `$VAR`, `${VAR…}`, quotes and
 * escapes, with BuildKit's exact behaviour (pinned by the `buildkit-shell` conformance vectors).
 *
 * Two modes: `expandWord` returns one string (whitespace kept), `expandWords` splits into words the
 * way a shell does (whitespace outside quotes, and from unquoted expansions, separates words).
 * Pure: the environment is a lookup function, nothing here touches the process environment.
 */

/** How a variable is looked up: its value, or undefined when it is not set. */
export type Lookup = (name: string) => string | undefined;

/** Lexer switches, matching BuildKit's `Lex` fields. */
export interface ExpandOptions {
  /** The Dockerfile's escape character (`\` or `` ` ``). */
  escape?: string;
  /** Keep quote characters in the output (used to find heredoc words). */
  rawQuotes?: boolean;
  /** Keep escape characters in the output. */
  rawEscapes?: boolean;
  /** Leave `$NAME` of unset variables as written instead of expanding to empty. */
  skipUnset?: boolean;
  /**
   * Told of every variable the word reads and whether it was set (positional and special
   * parameters included, which never are): the lint's UndefinedVar check listens here.
   */
  onReference?: (name: string, set: boolean) => void;
}

/** An expansion that cannot be performed: bad syntax, or `${VAR:?message}` on an unset variable. */
export class ExpansionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExpansionError';
  }
}

/** Expands `word` to a single string. */
export function expandWord(word: string, lookup: Lookup, options: ExpandOptions = {}): string {
  return new WordLexer(word, lookup, options).run().text;
}

/** Expands `word` and splits the result into shell words. */
export function expandWords(word: string, lookup: Lookup, options: ExpandOptions = {}): string[] {
  return new WordLexer(word, lookup, options).run().words;
}

/** A lookup over a plain record (own keys only). */
export function lookupIn(env: Readonly<Record<string, string>>): Lookup {
  return (name) => (Object.prototype.hasOwnProperty.call(env, name) ? env[name] : undefined);
}

const END = '';
const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);
const isSpace = (ch: string): boolean => /^\s$/u.test(ch);
const isDigit = (ch: string): boolean => ch >= '0' && ch <= '9';
const isNameChar = (ch: string): boolean => ch === '_' || /^[\p{L}\p{N}]$/u.test(ch);

/** Collects shell words: characters from quotes or escapes never split a word. */
class WordCollector {
  readonly words: string[] = [];
  private word = '';
  private inWord = false;

  /** A character that splits words when it is whitespace. */
  addSplitting(text: string): void {
    for (const ch of text) {
      if (isSpace(ch)) {
        if (this.inWord) this.flush();
      } else {
        this.addRaw(ch);
      }
    }
  }

  /** Text that belongs to the current word whatever it contains. */
  addRaw(text: string): void {
    this.word += text;
    this.inWord = true;
  }

  flush(): void {
    if (this.word.length > 0) this.words.push(this.word);
    this.word = '';
    this.inWord = false;
  }
}

class WordLexer {
  private readonly chars: string[];
  private pos = 0;
  private readonly escape: string;

  constructor(
    source: string,
    private readonly lookup: Lookup,
    private readonly options: ExpandOptions,
  ) {
    this.chars = Array.from(source);
    this.escape = options.escape ?? '\\';
  }

  run(): { text: string; words: string[] } {
    const words = new WordCollector();
    const text = this.until(END, false, words);
    words.flush();
    return { text, words: words.words };
  }

  private peek(): string {
    return this.chars[this.pos] ?? END;
  }

  private next(): string {
    const ch = this.chars[this.pos] ?? END;
    if (ch !== END) this.pos++;
    return ch;
  }

  /**
   * Reads up to `stop` (consumed) or the end. Quotes and `$` are processed; outside them the escape
   * character makes the next character literal (kept too when `rawEscapes`).
   */
  private until(stop: string, rawEscapes: boolean, words?: WordCollector): string {
    let result = '';
    for (;;) {
      const ch = this.peek();
      if (ch === END) {
        if (stop !== END) throw new ExpansionError(`unexpected end of statement while looking for matching ${stop}`);
        return result;
      }
      if (ch === stop) {
        this.next();
        return result;
      }
      if (ch === "'" || ch === '"' || ch === '$') {
        const part = ch === "'" ? this.singleQuoted() : ch === '"' ? this.doubleQuoted() : this.dollar();
        if (ch === '$') words?.addSplitting(part);
        else words?.addRaw(part);
        result += part;
        continue;
      }
      let literal = this.next();
      if (literal === this.escape) {
        if (rawEscapes) result += literal;
        literal = this.next();
        if (literal === END) return result;
        words?.addRaw(literal);
      } else {
        words?.addSplitting(literal);
      }
      result += literal;
    }
  }

  private singleQuoted(): string {
    const quote = this.options.rawQuotes ? "'" : '';
    let result = quote;
    this.next();
    for (;;) {
      const ch = this.next();
      if (ch === END) throw new ExpansionError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return result + quote;
      result += ch;
    }
  }

  private doubleQuoted(): string {
    const quote = this.options.rawQuotes ? '"' : '';
    let result = quote;
    this.next();
    for (;;) {
      const ch = this.peek();
      if (ch === END) throw new ExpansionError('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.next();
        return result + quote;
      }
      if (ch === '$') {
        result += this.dollar();
        continue;
      }
      let literal = this.next();
      if (literal === this.escape) {
        const following = this.peek();
        if (following === '"' || following === '$' || following === this.escape) {
          if (this.options.rawEscapes) result += literal;
          literal = this.next();
        }
      }
      result += literal;
    }
  }

  /** `$name`, `${name}` or `${name<modifier>word}`; the `$` is at the cursor. */
  private dollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.name();
      if (name === '') return '$';
      const value = this.get(name);
      if (value === undefined && this.options.skipUnset) return `$${name}`;
      return value ?? '';
    }
    this.next();
    const first = this.peek();
    if (first === END) throw new ExpansionError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new ExpansionError('syntax error: bad substitution');
    const name = this.name();
    let modifier = this.next();
    switch (modifier) {
      case END:
        throw new ExpansionError("syntax error: missing '}'");
      case '}': {
        const value = this.get(name);
        if (value === undefined && this.options.skipUnset) return `\${${name}}`;
        return value ?? '';
      }
      case '/':
        return this.substitute(name);
      case ':':
      case '+':
      case '-':
      case '?':
      case '#':
      case '%':
        break;
      default:
        if (this.options.skipUnset && this.get(name) === undefined) return this.keepUnexpanded(name, modifier);
        throw new ExpansionError(`unsupported modifier (${modifier}) in substitution`);
    }
    let colon = false;
    if (modifier === ':') {
      colon = true;
      modifier = this.next();
    }
    if ((modifier === '#' || modifier === '%') && this.peek() === modifier) modifier += this.next();
    const trims = modifier[0] === '#' || modifier[0] === '%';
    if (colon && (trims || !['+', '-', '?'].includes(modifier))) {
      throw new ExpansionError(`unsupported modifier (:${modifier}) in substitution`);
    }
    const word = this.untilBrace(trims);
    const value = this.get(name);
    if (value === undefined && this.options.skipUnset) return `\${${name}${colon ? ':' : ''}${modifier}${word}}`;
    const unset = value === undefined || (colon && value === '');
    switch (modifier) {
      case '-':
        return unset ? word : (value ?? '');
      case '+':
        return unset ? '' : word;
      case '?':
        if (unset) throw new ExpansionError(`${name}: ${word || (colon ? 'is not allowed to be empty' : 'is not allowed to be unset')}`);
        return value ?? '';
      case '#':
        return trimPrefix(value ?? '', word, false);
      case '##':
        return trimPrefix(value ?? '', word, true);
      case '%':
        return trimSuffix(value ?? '', word, false);
      default:
        return trimSuffix(value ?? '', word, true);
    }
  }

  private untilBrace(rawEscapes: boolean): string {
    try {
      return this.until('}', rawEscapes);
    } catch (err) {
      if (err instanceof ExpansionError && err.message.startsWith('unexpected end')) {
        throw new ExpansionError("syntax error: missing '}'");
      }
      throw err;
    }
  }

  /** `${name/pattern/replacement}` and `${name//pattern/replacement}`. */
  private substitute(name: string): string {
    const all = this.peek() === '/';
    if (all) this.next();
    let pattern: string;
    try {
      pattern = this.until('/', true);
    } catch {
      throw new ExpansionError("syntax error: missing '/' in ${}");
    }
    const replacement = this.untilBrace(true);
    const value = this.get(name);
    if (value === undefined && this.options.skipUnset) return `\${${name}/${all ? '/' : ''}${pattern}/${replacement}}`;
    if (value === undefined) return '';
    const regex = globToRegExp(pattern, all ? 'gs' : 's');
    return value.replace(regex, () => replacement);
  }

  private keepUnexpanded(name: string, modifier: string): string {
    return `\${${name}${modifier}${this.untilBrace(false)}}`;
  }

  /** A variable name, a run of digits (positional parameter) or one special parameter. */
  private name(): string {
    const first = this.peek();
    if (isDigit(first)) {
      let digits = '';
      while (isDigit(this.peek())) digits += this.next();
      return digits;
    }
    if (SPECIAL_PARAMS.has(first)) return this.next();
    let name = '';
    while (this.peek() !== END && isNameChar(this.peek())) name += this.next();
    return name;
  }

  /** Positional and special parameters are never set in a Dockerfile. */
  private get(name: string): string | undefined {
    const value = isDigit(name[0] ?? '') || SPECIAL_PARAMS.has(name) ? undefined : this.lookup(name);
    this.options.onReference?.(name, value !== undefined);
    return value;
  }
}

/**
 * A shell pattern (`*`, `?`, `\x`; no brackets) as a RegExp matching a whole string when `flags`
 * has no `g`, or occurrences anywhere otherwise.
 */
function globToRegExp(pattern: string, flags = 's'): RegExp {
  let source = '';
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] ?? '';
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else if (ch === '\\' && i + 1 < chars.length) source += escapeRegExp(chars[++i] ?? '');
    else source += escapeRegExp(ch);
  }
  return new RegExp(source, flags.includes('u') ? flags : `${flags}u`);
}

/** `ch` as a literal in a `u` RegExp, outside a class: only syntax characters take a backslash there. */
function escapeRegExp(ch: string): string {
  return ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function trimPrefix(value: string, pattern: string, longest: boolean): string {
  const whole = new RegExp(`^(?:${globToRegExp(pattern).source})$`, 'su');
  const chars = Array.from(value);
  for (let k = 0; k <= chars.length; k++) {
    const n = longest ? chars.length - k : k;
    if (whole.test(chars.slice(0, n).join(''))) return chars.slice(n).join('');
  }
  return value;
}

function trimSuffix(value: string, pattern: string, longest: boolean): string {
  const whole = new RegExp(`^(?:${globToRegExp(pattern).source})$`, 'su');
  const chars = Array.from(value);
  for (let k = 0; k <= chars.length; k++) {
    const n = longest ? k : chars.length - k;
    if (whole.test(chars.slice(n).join(''))) return chars.slice(0, n).join('');
  }
  return value;
}

/**
 * The body of a COPY/ADD here-document with an unquoted delimiter: `$name` and `${…}` are expanded,
 * `\$` and `\\` are unescaped and a backslash before a newline is dropped; quotes are ordinary
 * characters (BuildKit's testCopyHeredocSpecialSymbols).
 */
export function expandHeredocBody(body: string, lookup: Lookup, options: ExpandOptions = {}): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === '\\' && (body[i + 1] === '$' || body[i + 1] === '\\' || body[i + 1] === '\n')) {
      out += body[++i];
    } else if (ch === '$') {
      const end = variableEnd(body, i);
      out += end > i + 1 ? expandWord(body.slice(i, end), lookup, options) : '$';
      i = end - 1;
    } else {
      out += ch;
    }
  }
  return out;
}

/** Where the `$…` reference starting at `start` ends (exclusive). */
function variableEnd(text: string, start: number): number {
  if (text[start + 1] === '{') {
    let depth = 0;
    for (let i = start + 1; i < text.length; i++) {
      if (text[i] === '{') depth++;
      else if (text[i] === '}' && --depth === 0) return i + 1;
    }
    return text.length;
  }
  let i = start + 1;
  while (i < text.length && /[\p{L}\p{N}_]/u.test(text[i] ?? '')) i++;
  return i;
}
