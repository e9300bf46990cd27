/**
 * Reading a snapshot's mounts as data (BuildKit and containerd derive the upper dir the same way):
 * an overlay mount names where writes go (`upperdir`) and what it stacks on (`lowerdir`, nearest
 * first); a single bind mount is a whole tree in one directory. Appliers and differs use this, so
 * they work on any snapshotter whose mounts take these two shapes.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Mount } from './snapshotter.js';

/**
 * Where overlayfs keeps its own attributes (the opaque marker): `trusted.overlay.` as root, or
 * `user.overlay.` for a mount with `userxattr`, the only kind a user namespace may make (trusted.*
 * needs CAP_SYS_ADMIN in the host's namespace).
 */
export type OverlayXattrPrefix = 'trusted.overlay.' | 'user.overlay.';

/** The parts of an overlay mount; undefined when the mounts are not one overlay. */
export function overlayParts(mounts: readonly Mount[]): { upper: string | undefined; lowers: string[]; xattrPrefix: OverlayXattrPrefix } | undefined {
  const [only, ...rest] = mounts;
  if (only?.type !== 'overlay' || rest.length > 0) return undefined;
  const option = (name: string): string | undefined => only.options.find((o) => o.startsWith(`${name}=`))?.slice(name.length + 1);
  return {
    upper: option('upperdir'),
    lowers: (option('lowerdir') ?? '').split(':').filter((l) => l !== ''),
    xattrPrefix: only.options.includes('userxattr') ? 'user.overlay.' : 'trusted.overlay.',
  };
}

/** The directory a single bind mount shows; undefined for other mounts. */
export function bindSource(mounts: readonly Mount[]): string | undefined {
  const [only, ...rest] = mounts;
  return only?.type === 'bind' && rest.length === 0 ? only.source : undefined;
}

/**
 * Where to write a layer into the snapshot these (writable) mounts show, and how: into an overlay's
 * upper dir with overlay's own whiteouts (character devices 0/0, the opaque xattr), or into a whole
 * tree, where a deletion is a removal.
 */
export function writeTarget(mounts: readonly Mount[]): { dir: string; mode: 'overlay' | 'plain'; xattrPrefix?: OverlayXattrPrefix } {
  const overlay = overlayParts(mounts);
  if (overlay?.upper) return { dir: overlay.upper, mode: 'overlay', xattrPrefix: overlay.xattrPrefix };
  const bind = bindSource(mounts);
  if (bind !== undefined && !mounts[0]?.options.includes('ro')) return { dir: bind, mode: 'plain' };
  throw new InvalidArgumentError(`cannot write a layer into ${JSON.stringify(mounts)}: not a writable snapshot`);
}
