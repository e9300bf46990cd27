/**
 * "Did you mean …?" suggestions, as BuildKit's `util/suggest` gives them: the closest candidate by
 * edit distance, offered only when it is close enough to be a plausible typo.
 */

/** Levenshtein distance between `a` and `b`. */
export function editDistance(a: string, b: string): number {
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
