/**
 * Variable expansion that also reports which names a word read and whether each was set, as
 * BuildKit's `ProcessWordWithMatches` does: the undefined-variable checks are built on it.
 */
import { ExpansionError, expandHeredocBody, expandWord, type Lookup } from '../dockerfile/expand.js';

/**
 * The expanded word and the names it referred to, each once, in the order first read. A word
 * that cannot be expanded has an `error` (and an empty value); the names read before it count.
 */
export interface TrackedExpansion {
  value: string;
  matched: string[];
  unmatched: string[];
  error?: ExpansionError;
}

function tracker(): { onReference: (name: string, set: boolean) => void; matched: string[]; unmatched: string[] } {
  const matched: string[] = [];
  const unmatched: string[] = [];
  return {
    matched,
    unmatched,
    onReference: (name, set) => {
      const list = set ? matched : unmatched;
      if (!list.includes(name)) list.push(name);
    },
  };
}

function tracked(run: (onReference: (name: string, set: boolean) => void) => string): TrackedExpansion {
  const track = tracker();
  try {
    return { value: run(track.onReference), matched: track.matched, unmatched: track.unmatched };
  } catch (err) {
    if (!(err instanceof ExpansionError)) throw err;
    return { value: '', matched: track.matched, unmatched: track.unmatched, error: err };
  }
}

/** Expands `word` as `expandWord` does. */
export function expandTracked(word: string, lookup: Lookup, escape = '\\'): TrackedExpansion {
  return tracked((onReference) => expandWord(word, lookup, { escape, onReference }));
}

/** Expands the body of a COPY/ADD here-document with an unquoted delimiter. */
export function expandBodyTracked(body: string, lookup: Lookup): TrackedExpansion {
  return tracked((onReference) => expandHeredocBody(body, lookup, { onReference }));
}
