/**
 * Here-document words (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`): BuildKit's `ParseHeredoc`. One
 * function serves the line parser (which reads the bodies) and COPY/ADD (which maps source words to
 * bodies), so the two can never disagree about what a heredoc word is.
 */
import { expandWords } from './expand.js';
import type { Heredoc } from './node.js';

const HEREDOC_WORD = /^(\d*)<<(-?)([^<]*)$/;
const noVariables = (): undefined => undefined;
const countQuotes = (s: string): number => (s.match(/['"]/g) ?? []).length;

/** The heredoc a word opens (with an empty body), or undefined when it is not a heredoc word. */
export function parseHeredocWord(word: string): Heredoc | undefined {
  const match = HEREDOC_WORD.exec(word);
  const delimiter = match?.[3] ?? '';
  if (!match || delimiter === '') return undefined;
  let words: string[];
  try {
    words = expandWords(delimiter, noVariables, { skipUnset: true });
  } catch {
    return undefined;
  }
  if (words.length !== 1) return undefined;
  const name = words[0] ?? '';
  // A quoted delimiter (any part of it) turns expansion of the body off.
  const heredoc: Heredoc = { name, content: '', expand: countQuotes(name) === countQuotes(delimiter), chomp: match[2] === '-' };
  if (match[1]) heredoc.fd = Number(match[1]);
  return heredoc;
}

/** The heredocs opened on an instruction's argument text, in order. */
export function heredocsInLine(rest: string): Heredoc[] {
  // Like BuildKit, a line that does not lex (an unbalanced quote) simply has no heredocs; the
  // instruction layer reports the real problem if there is one.
  let words: string[];
  try {
    words = expandWords(rest, noVariables, { rawQuotes: true, rawEscapes: true, skipUnset: true });
  } catch {
    return [];
  }
  return words.flatMap((word) => parseHeredocWord(word) ?? []);
}
