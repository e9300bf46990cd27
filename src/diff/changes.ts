/**
 * A filesystem change between a lower and an upper tree, the unit both change finders produce and
 * the layer writer consumes.
 */

/** One change, at a clean relative path (`etc/passwd`). */
export interface Change {
  kind: 'add' | 'modify' | 'delete';
  path: string;
  /** For a directory: everything the lower layers had in it is hidden (opaque). */
  opaque?: boolean;
}

/** Byte-wise path order with parents before children, the order layer entries are written in. */
export function comparePaths(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return Buffer.compare(Buffer.from(pa[i] ?? ''), Buffer.from(pb[i] ?? ''));
  }
  return pa.length - pb.length;
}
