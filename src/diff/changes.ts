/**
 * A filesystem change between a lower and an upper tree, the unit both change finders produce and
 * the layer writer consumes.
 */

import type { Stats } from 'node:fs';

/** One change, at a clean relative path (`etc/passwd`). */
export interface Change {
  kind: 'add' | 'modify' | 'delete';
  path: string;
  /** For a directory: everything the lower layers had in it is hidden (opaque). */
  opaque?: boolean;
  /** The entry's `lstat` in the upper tree, when the finder made one (the layer writer then needs none). */
  stat?: Stats;
}

/**
 * `changes` in byte-wise path order with parents before children, the order layer entries are
 * written in. Each path's key is made once: with `/` as the lowest byte, byte order of the whole
 * path is component-wise order. UTF-8 byte order is code point order, which comparing strings
 * (UTF-16 code units) gives too unless a path holds a code unit from U+D800 up (a surrogate sorts
 * below U+E000–U+FFFF): only then are the keys made bytes (for 2,024 paths 9–20 ms, against 2–7).
 */
export function inPathOrder(changes: readonly Change[]): Change[] {
  if (changes.some((change) => BEYOND_SURROGATES.test(change.path))) {
    const keyed = changes.map((change) => ({ change, key: Buffer.from(change.path.replaceAll('/', '\0')) }));
    return keyed.sort((a, b) => Buffer.compare(a.key, b.key)).map(({ change }) => change);
  }
  const keyed = changes.map((change) => ({ change, key: change.path.replaceAll('/', '\0') }));
  return keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map(({ change }) => change);
}

const BEYOND_SURROGATES = /[\uD800-\uFFFF]/;
