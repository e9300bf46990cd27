/**
 * Archive entry names are untrusted. Every name is normalised to a relative path inside the target,
 * and anything that would land outside (`..` climbing out, absolute names, hard links out of the
 * tree) is refused. Symlinks met on an entry's way are followed inside the target
 * (`linkTargetInRoot`), as BuildKit's go-archive does with Go's `os.Root`: where files are created
 * (`diff/applier.ts`, `fileops/extract.ts`) a symlink never leads outside.
 */
import path from 'node:path/posix';
import { InvalidArgumentError } from '../errors.js';

/** A path escaping the target directory: an attack, reported with the entry that tried. */
export class PathEscapeError extends InvalidArgumentError {
  constructor(entry: string, reason: string) {
    super(`refusing archive entry "${entry}": ${reason}`);
  }
}

/**
 * The entry name as a clean relative path (`./a//b/` → `a/b`); the root itself is `''`.
 * Absolute names are made relative (as tar does) unless `strict`; a `..` that climbs out is refused.
 */
export function cleanEntryName(name: string): string {
  const normalized = path.normalize(`/${name}`);
  if (
    name.split('/').includes('..') &&
    !path
      .normalize(name.replace(/^\/+/, ''))
      .split('/')
      .every((c) => c !== '..')
  ) {
    throw new PathEscapeError(name, 'it climbs out of the destination with ".."');
  }
  return normalized === '/' ? '' : normalized.slice(1).replace(/\/$/, '');
}

/** The target of a hard link entry, which must name a path inside the archive's tree. */
export function cleanLinkTarget(entry: string, linkname: string): string {
  try {
    return cleanEntryName(linkname);
  } catch {
    throw new PathEscapeError(entry, `its hard link target "${linkname}" is outside the destination`);
  }
}

/**
 * Where a symlink in directory `linkDir` (components below the root) pointing at `target` leads,
 * as components below the root: an absolute target starts again at the root; `..` stops at the
 * root when `clampAbove` (a link reached through an absolute one, as go-archive's fallback does),
 * and otherwise makes the result undefined: the link leads out (Go's "path escapes from parent").
 */
export function linkTargetInRoot(linkDir: readonly string[], target: string, clampAbove: boolean): string[] | undefined {
  const parts = target.startsWith('/') ? [] : [...linkDir];
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..') parts.push(part);
    else if (parts.length > 0) parts.pop();
    else if (!clampAbove && !target.startsWith('/')) return undefined;
  }
  return parts;
}
