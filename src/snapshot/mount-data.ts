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

/**
 * How an upper dir marks deletions and opaque directories: overlayfs's character devices 0/0 and
 * `*.overlay.opaque` xattr, or fuse-overlayfs's (those, or `.wh.` files where it cannot make a
 * device, and its own xattrs; `diff/fuse-markers.ts`).
 */
export type UpperFormat = 'overlay' | 'fuse-overlayfs';

/** The parts of an overlay mount (kernel or fuse-overlayfs); undefined when the mounts are not one overlay. */
export function overlayParts(
  mounts: readonly Mount[],
): { upper: string | undefined; lowers: string[]; xattrPrefix: OverlayXattrPrefix; format: UpperFormat } | undefined {
  const [only, ...rest] = mounts;
  if ((only?.type !== 'overlay' && only?.type !== 'fuse-overlayfs') || rest.length > 0) return undefined;
  const option = (name: string): string | undefined => only.options.find((o) => o.startsWith(`${name}=`))?.slice(name.length + 1);
  return {
    upper: option('upperdir'),
    lowers: (option('lowerdir') ?? '').split(':').filter((l) => l !== ''),
    xattrPrefix: only.options.includes('userxattr') ? 'user.overlay.' : 'trusted.overlay.',
    format: only.type,
  };
}

/** The directory a single bind mount shows; undefined for other mounts. */
export function bindSource(mounts: readonly Mount[]): string | undefined {
  const [only, ...rest] = mounts;
  return only?.type === 'bind' && rest.length === 0 ? only.source : undefined;
}

/**
 * Where to write a layer into the snapshot these (writable) mounts show, and how: into an overlay's
 * upper dir with overlay's own whiteouts (character devices 0/0, the opaque xattr), into a
 * fuse-overlayfs upper dir with the OCI markers as files (`.wh.x`, `.wh..wh..opq`, which it reads
 * on every kernel), or into a whole tree, where a deletion is a removal.
 */
export function writeTarget(mounts: readonly Mount[]): {
  dir: string;
  mode: 'overlay' | 'fuse-overlayfs' | 'plain';
  xattrPrefix?: OverlayXattrPrefix;
} {
  const overlay = overlayParts(mounts);
  if (overlay?.upper && overlay.format === 'fuse-overlayfs') return { dir: overlay.upper, mode: 'fuse-overlayfs' };
  if (overlay?.upper) return { dir: overlay.upper, mode: 'overlay', xattrPrefix: overlay.xattrPrefix };
  const bind = bindSource(mounts);
  if (bind !== undefined && !mounts[0]?.options.includes('ro')) return { dir: bind, mode: 'plain' };
  throw new InvalidArgumentError(`cannot write a layer into ${JSON.stringify(mounts)}: not a writable snapshot`);
}
