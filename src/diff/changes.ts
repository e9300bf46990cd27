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
 * path is component-wise order.
 */
export function inPathOrder(changes: readonly Change[]): Change[] {
  const keyed = changes.map((change) => ({ change, key: Buffer.from(change.path.replaceAll('/', '\0')) }));
  return keyed.sort((a, b) => Buffer.compare(a.key, b.key)).map(({ change }) => change);
}
