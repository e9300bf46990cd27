/**
 * Resolving paths *inside* a root directory, the way a container sees them: symlinks are followed
 * with absolute targets taken relative to the root, and `..` never climbs above the root. Used for
 * COPY sources (the context or a stage) and destinations (the image rootfs): nothing on the host
 * outside the root is ever read or written through a symlink.
 */
import { readlink } from 'node:fs/promises';
import path from 'node:path';
import { TsbuildError } from '../errors.js';
import { lstatIfExists } from '../util/absent.js';

const MAX_LINKS = 255;

/** Normalises a path to its components under the root (`/a/../b/` → ['b']; above the root clamps). */
export function rootParts(p: string): string[] {
  const parts: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts;
}

/**
 * The real location of `p` inside `root`, as components. Symlinks on the way are followed; the
 * final component too when `followFinal`. Missing components end the resolution (the rest is
 * appended as is), so the result can name something to create.
 */
export async function resolveParts(root: string, p: string, followFinal = true): Promise<string[]> {
  let todo = rootParts(p);
  const done: string[] = [];
  let hops = 0;
  while (todo.length > 0) {
    const [next, ...rest] = todo as [string, ...string[]];
    const candidate = [...done, next];
    const stat = await lstatIfExists(path.join(root, ...candidate));
    if (!stat) return [...candidate, ...rest];
    if (stat.isSymbolicLink() && (rest.length > 0 || followFinal)) {
      if (++hops > MAX_LINKS) throw new TsbuildError('invalid-argument', `too many levels of symbolic links resolving ${p}`);
      const target = await readlink(path.join(root, ...candidate));
      const base = target.startsWith('/') ? [] : done;
      todo = [...rootParts([...base, target].join('/')), ...rest];
      done.length = 0;
      continue;
    }
    done.push(next);
    todo = rest;
  }
  return done;
}

/** The absolute host path of `p` resolved inside `root`. */
export async function resolveInRoot(root: string, p: string, followFinal = true): Promise<string> {
  return path.join(root, ...(await resolveParts(root, p, followFinal)));
}
