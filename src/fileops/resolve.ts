/**
 * Resolving paths *inside* a root directory, the way a container sees them: symlinks are followed
 * with absolute targets taken relative to the root, and `..` never climbs above the root. Used for
 * COPY sources (the context or a stage), destinations (the image rootfs) and ADD's archive entries
 * (the destination directory as root): nothing on the host outside the root is ever read or
 * written through a symlink. Each component is looked at with synchronous calls (`lstat`,
 * `readlink`: neither waits on what it finds), not a thread-pool round trip each.
 */
import { readlinkSync } from 'node:fs';
import path from 'node:path';
import { linkTargetInRoot } from '../archive/safe-path.js';
import { InvalidArgumentError } from '../errors.js';
import { lstatNow, readRegularTextNow } from '../util/absent.js';

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
  return resolve(root, p, followFinal, undefined);
}

/**
 * Like `resolveParts` with `root` as an archive's extraction root, the way BuildKit extracts ADD
 * archives (go-archive over Go's `os.Root`): absolute link targets start again at `root`, but a
 * relative link climbing above `root` before any absolute link was followed is refused through
 * `refuse(link)` (Go's "path escapes from parent"). The final component is never followed.
 */
export async function resolveForExtraction(root: string, p: string, refuse: (link: string) => never): Promise<string[]> {
  return resolve(root, p, false, refuse);
}

async function resolve(root: string, p: string, followFinal: boolean, refuseEscape: ((link: string) => never) | undefined): Promise<string[]> {
  let todo = rootParts(p);
  const done: string[] = [];
  let hops = 0;
  let followedAbsolute = false;
  while (todo.length > 0) {
    const [next, ...rest] = todo as [string, ...string[]];
    const candidate = [...done, next];
    const stat = lstatNow(path.join(root, ...candidate));
    if (!stat) return [...candidate, ...rest];
    if (stat.isSymbolicLink() && (rest.length > 0 || followFinal)) {
      if (++hops > MAX_LINKS) throw new InvalidArgumentError(`too many levels of symbolic links resolving ${p}`);
      const target = readlinkSync(path.join(root, ...candidate));
      const next = linkTargetInRoot(done, target, followedAbsolute || !refuseEscape) ?? refuseEscape?.(candidate.join('/')) ?? [];
      if (target.startsWith('/')) followedAbsolute = true;
      todo = [...next, ...rest];
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

/**
 * The text of `p` inside `root` (symlinks resolved there, never onto the host), '' when it is absent
 * or not a regular file: an image's /etc/passwd or /etc/group, which a RUN's user and a COPY's
 * `--chown` are looked up in. Only a regular file is opened (`readRegularTextNow`): a FIFO there
 * must not hold the build.
 */
export async function readTextInRoot(root: string, p: string): Promise<string> {
  return readRegularTextNow(await resolveInRoot(root, p)) ?? '';
}
