/**
 * "Did you mean …?" suggestions, as BuildKit's `util/suggest` gives them: the closest candidate by
 * edit distance, offered only when it is close enough to be a plausible typo.
 */

/** Levenshtein distance between `a` and `b` (strings, or arrays of characters). */
export function editDistance(a: string | readonly string[], b: string | readonly string[]): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The candidate closest to `value` (compared case-insensitively), or undefined when none is close:
 * within half the value's length in edits (at most 3), or starting with the value. That offers
 * `tmpfs` for `tmp`, `build` for `bulid`, `ENTRYPOINT` for `FNTRYPOINT`, and nothing for `foo`.
 */
export function closest(value: string, candidates: Iterable<string>): string | undefined {
  const wanted = value.toLowerCase();
  const limit = Math.min(3, Math.floor(wanted.length / 2));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const lower = candidate.toLowerCase();
    const distance = editDistance(wanted, lower);
    const prefix = wanted.length >= 3 && lower.startsWith(wanted);
    if (distance > 0 && (distance <= limit || prefix) && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** " (did you mean X?)" for the closest candidate, or an empty string. */
export function didYouMean(value: string, candidates: Iterable<string>): string {
  const match = closest(value, candidates);
  return match === undefined ? '' : ` (did you mean ${match}?)`;
}

/**
 * BuildKit's `suggest.Search` exactly, for messages that must read as BuildKit's do: the first
 * option strictly closer than every earlier one, within 2 edits (counted in characters); none when
 * an option equals the value (the value was not the mistake). Case-insensitive matching returns
 * the option in the value's letter case when the value is all one case.
 */
export function searchSuggestion(value: string, options: Iterable<string>, caseSensitive: boolean): string | undefined {
  const wanted = caseSensitive ? value : value.toLowerCase();
  let match: string | undefined;
  let best = 3;
  for (const option of options) {
    const candidate = caseSensitive ? option : option.toLowerCase();
    if (candidate === wanted) return undefined;
    const distance = editDistance(Array.from(wanted), Array.from(candidate));
    if (distance < best) {
      match = caseSensitive ? candidate : matchCase(candidate, value);
      best = distance;
    }
  }
  return match;
}

function matchCase(candidate: string, original: string): string {
  if (original === original.toLowerCase()) return candidate.toLowerCase();
  if (original === original.toUpperCase()) return candidate.toUpperCase();
  return candidate;
}
