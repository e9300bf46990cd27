/**
 * OCI whiteouts (image-spec `layer.md`): `.wh.<name>` deletes `<name>` from lower layers;
 * `.wh..wh..opq` in a directory hides everything the lower layers had in it.
 */
import path from 'node:path/posix';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

/** What an entry name means for whiteouts. */
export type WhiteoutKind = { kind: 'opaque'; dir: string } | { kind: 'whiteout'; target: string } | { kind: 'none' };

/** Classifies a clean entry name. */
export function whiteoutOf(name: string): WhiteoutKind {
  const base = path.basename(name);
  const dir = path.dirname(name) === '.' ? '' : path.dirname(name);
  if (base === OPAQUE_MARKER) return { kind: 'opaque', dir };
  if (base.startsWith(WHITEOUT_PREFIX)) return { kind: 'whiteout', target: path.join(dir, base.slice(WHITEOUT_PREFIX.length)) };
  return { kind: 'none' };
}

/** The whiteout entry name that deletes `target`. */
export function whiteoutName(target: string): string {
  const dir = path.dirname(target);
  const name = `${WHITEOUT_PREFIX}${path.basename(target)}`;
  return dir === '.' ? name : path.join(dir, name);
}

/** The opaque-marker entry name for directory `dir`. */
export function opaqueName(dir: string): string {
  return dir === '' ? OPAQUE_MARKER : path.join(dir, OPAQUE_MARKER);
}
