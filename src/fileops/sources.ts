/**
 * Expanding COPY/ADD sources against a source root (the build context or a stage's filesystem):
 * paths are resolved from the root (never WORKDIR), trailing `/` and `/.` are irrelevant, every
 * symlink on the way including the final one is followed inside the root, wildcards match segment
 * by segment, a wildcard matching nothing is skipped, a missing literal path fails.
 */
import type { Stats } from 'node:fs';
import path from 'node:path';
import { NotFoundError } from '../errors.js';
import { hasWildcard, segmentMatcher, unescapeSegment } from './glob.js';
import { resolveParts, rootParts } from './resolve.js';
import { lstatIfExists, namesIn, statIfExists } from '../util/absent.js';

/** A filesystem to copy from. */
export interface SourceTree {
  root: string;
  /**
   * False for paths that are not part of it: ignored context files, and excluded directories that
   * hold nothing re-included (see `contextTree`). Absent: everything under the root is.
   */
  contains?: (rel: string) => boolean;
  /**
   * True when the root directory's own times are not part of the tree: a build context, which
   * BuildKit copies into a directory of its own before COPY reads it (`COPY . /app/` gives `/app`
   * the time of the copy, not the context directory's).
   */
  untimedRoot?: boolean;
}

/** One matched source. */
export interface MatchedSource {
  /** The path as matched (symlinks not resolved), relative to the root: what `--parents` keeps. */
  matched: string;
  /** The name it is copied under (the matched name, even when it is a symlink to another name). */
  name: string;
  /** Where its content really is, relative to the root (symlinks followed). */
  real: string;
  stat: Stats;
}

/** Expands one source string. */
export async function expandSource(tree: SourceTree, source: string): Promise<MatchedSource[]> {
  const parts = rootParts(source);
  const firstWild = parts.findIndex(hasWildcard);
  if (firstWild < 0) {
    const matched = parts.map(unescapeSegment).join('/');
    const found = await resolveMatch(tree, matched);
    if (!found)
      throw new NotFoundError(`"/${matched}": not found`, {
        hint: 'check the path and .dockerignore: COPY reads from the root of the context or stage',
      });
    return [found];
  }
  const results: MatchedSource[] = [];
  const walk = async (dirParts: string[], index: number): Promise<void> => {
    const segment = parts[index] ?? '';
    const last = index === parts.length - 1;
    const dirReal = await resolveParts(tree.root, dirParts.join('/'));
    const names = hasWildcard(segment)
      ? (await namesIn(path.join(tree.root, ...dirReal))).sort().filter((n) => segmentMatcher(segment).test(n))
      : [unescapeSegment(segment)];
    for (const name of names) {
      const child = [...dirParts, name];
      if (last) {
        const found = await resolveMatch(tree, child.join('/'));
        if (found) results.push(found);
      } else {
        const real = await resolveParts(tree.root, child.join('/'));
        const info = await statIfExists(path.join(tree.root, ...real));
        if (info?.isDirectory() && (tree.contains?.(real.join('/')) ?? true)) await walk(child, index + 1);
      }
    }
  };
  await walk(parts.slice(0, firstWild).map(unescapeSegment), firstWild);
  return results;
}

async function resolveMatch(tree: SourceTree, matched: string): Promise<MatchedSource | undefined> {
  const realParts = await resolveParts(tree.root, matched);
  const real = realParts.join('/');
  const stat = await lstatIfExists(path.join(tree.root, ...realParts));
  if (!stat) return undefined;
  if (real !== '' && !(tree.contains?.(real) ?? true)) return undefined;
  return { matched, name: path.posix.basename(matched) || path.basename(tree.root), real, stat };
}
