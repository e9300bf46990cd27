/**
 * How fuse-overlayfs (1.x, Debian's) writes its upper dir, read back so its layers are the ones
 * overlayfs gives (checked against its source and on this kernel, in a user namespace):
 * - a deleted name is a character device 0/0 where it may make one (Linux 5.8 and later, or
 *   root), else an empty file `.wh.<name>`; a device named `.wh.…` is its own bookkeeping;
 * - an opaque directory gets `.wh..wh..opq` and an xattr (`trusted.overlay.opaque` as root,
 *   `user.fuseoverlayfs.opaque` in a user namespace; it also reads `user.overlay.opaque`), and so
 *   does every directory it makes, where it hides nothing unless a lower layer has the path;
 * - removing a name only the upper dir had may leave a whiteout of it (overlayfs leaves none);
 * - a copied-up file carries `user.fuseoverlayfs.origin`, which it hides from the merged tree, as
 *   it hides all of `user.fuseoverlayfs.*`: never in a layer;
 * - a copy-up moves its parent directory's time (it creates the entry there and, unlike
 *   overlayfs, does not set the time back). A directory whose upper entries are all copy-ups got
 *   its time that way only, and gets its lower time back (`overlay-changes.ts`); one where the step
 *   made, deleted or replaced an entry keeps the time that gave it, as does one where the
 *   runtime's mount points came and went (the differ is told: `DiffOptions.entriesChanged`). Not
 *   seen: a step that itself made and removed an entry, and also changed a file in place, in one
 *   directory with nothing else (overlayfs would show the new time; this shows the lower one).
 */
import type { Stats } from 'node:fs';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from '../archive/whiteout.js';

/** The xattr fuse-overlayfs puts on a file it copied up (the path it came from). */
const ORIGIN = 'user.fuseoverlayfs.origin';
const OPAQUE_XATTRS = ['trusted.overlay.opaque', 'user.overlay.opaque', 'user.fuseoverlayfs.opaque'];

/** fuse-overlayfs's own xattrs, which describe the upper dir, not the files. */
export function isFuseAttribute(name: string): boolean {
  return name.startsWith('user.fuseoverlayfs.');
}

/** What an upper dir entry is: the name it deletes, a marker to skip, or a file of the tree. */
export function fuseEntry(name: string, stat: Stats): { kind: 'delete'; name: string } | { kind: 'marker' } | { kind: 'entry' } {
  if (name === OPAQUE_MARKER) return { kind: 'marker' };
  if (name.startsWith(WHITEOUT_PREFIX)) return stat.isFile() ? { kind: 'delete', name: name.slice(WHITEOUT_PREFIX.length) } : { kind: 'marker' };
  if (stat.isCharacterDevice() && stat.rdev === 0) return { kind: 'delete', name };
  return { kind: 'entry' };
}

/** True when the directory holding `names` (its xattrs `attrs`) hides its lower contents. */
export function fuseOpaque(names: readonly string[], attrs: ReadonlyMap<string, Buffer> | undefined): boolean {
  return names.includes(OPAQUE_MARKER) || OPAQUE_XATTRS.some((x) => attrs?.get(x)?.toString() === 'y');
}

/**
 * True when an upper entry shows the step changed its directory's entries: it is new, replaces
 * another type, or is a file written anew (no origin mark: a rename over the old one, as `sed -i`
 * does). A copied-up file, or a directory or other entry the lower layer has as the same type, is
 * only a copy-up.
 */
export function changesEntries(stat: Stats, lower: Stats | undefined, attrs: ReadonlyMap<string, Buffer> | undefined): boolean {
  if (!lower || (stat.mode & 0o170000) !== (lower.mode & 0o170000)) return true;
  return stat.isFile() && attrs?.get(ORIGIN) === undefined;
}

/** The name that whites `name` out in a lower layer written by the applier or by fuse-overlayfs. */
export function whiteoutFileOf(name: string): string {
  return `${WHITEOUT_PREFIX}${name}`;
}
