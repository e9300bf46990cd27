/**
 * Go's `%q` of a `[]string`, which BuildKit uses for the history text of CMD and ENTRYPOINT
 * (`CMD ["node" "server.js"]`): each element quoted as strconv.Quote does (the parser dump's
 * `goQuote`), joined by a space, in brackets. JSON.stringify differs (commas, `\u00XX` for control
 * characters), so the history would not match the image BuildKit writes.
 */
import { goQuote } from '../dockerfile/dump.js';

export { goQuote };

/** A string list as Go's `%q` writes a `[]string`; null (a nil slice) is `[]`. */
export function goQuoteList(list: readonly string[] | null): string {
  return `[${(list ?? []).map(goQuote).join(' ')}]`;
}
