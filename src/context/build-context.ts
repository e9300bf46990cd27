/**
 * The build context: a directory and the `.dockerignore` rules that filter it. BuildKit reads
 * `<Dockerfile-name>.dockerignore` next to the Dockerfile when it exists, else `.dockerignore` at
 * the context root. Ignored files do not exist for COPY; the Dockerfile and the ignore file are
 * read by the builder even when ignored.
 */
import { lstat, readdir } from 'node:fs/promises';
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import path from 'node:path';
import { parseDockerignore, type IgnoreMatcher } from './dockerignore.js';
import { readTextIfExists } from '../util/absent.js';

/** A loaded build context. */
export interface BuildContext {
  root: string;
  ignore?: IgnoreMatcher;
  /** The ignore file that applied, if any. */
  ignoreFile?: string;
}

/** One entry of the context as COPY sees it. */
export interface ContextEntry {
  /** Path relative to the context root, `/`-separated. */
  rel: string;
  stat: Stats;
}

/** Loads the context at `root`; `dockerfile` (a path) selects a `<name>.dockerignore` beside it. */
export async function loadBuildContext(root: string, dockerfile?: string): Promise<BuildContext> {
  const candidates = [...(dockerfile ? [`${dockerfile}.dockerignore`] : []), path.join(root, '.dockerignore')];
  for (const file of candidates) {
    const text = await readTextIfExists(file);
    if (text !== undefined) return { root, ignore: parseDockerignore(text, path.basename(file)), ignoreFile: file };
  }
  return { root };
}

/**
 * The context as a tree to copy from. `contains(rel)` says whether an entry exists in the context
 * as BuildKit transfers it: an included entry, or an excluded directory that holds an included one
 * (a `!` exception re-includes something inside it). An excluded directory holding nothing
 * included does not exist at all: `COPY . /app/` does not create it and `COPY dir /x/` is "not
 * found". Answers for directories are remembered, so nested excluded directories are walked once.
 */
export function contextTree(ctx: BuildContext): { root: string; contains?: (rel: string) => boolean; untimedRoot: true } {
  const ignore = ctx.ignore;
  if (!ignore) return { root: ctx.root, untimedRoot: true };
  const exceptions = exceptionPrefixes(ignore);
  const holds = new Map<string, boolean>();
  const holdsIncluded = (dir: string): boolean => {
    let known = holds.get(dir);
    if (known === undefined) {
      known =
        mayReinclude(dir, exceptions) &&
        readdirSync(path.join(ctx.root, dir)).some((name) => {
          const child = `${dir}/${name}`;
          return !ignore.excludes(child) || (isDirectory(path.join(ctx.root, child)) && holdsIncluded(child));
        });
      holds.set(dir, known);
    }
    return known;
  };
  const contains = (rel: string): boolean => !ignore.excludes(rel) || (isDirectory(path.join(ctx.root, rel)) && holdsIncluded(rel));
  return { root: ctx.root, contains, untimedRoot: true };
}

function isDirectory(abs: string): boolean {
  return lstatSync(abs, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** True when `rel` is part of the context (not excluded by the ignore rules). */
export function isIncluded(ctx: BuildContext, rel: string): boolean {
  return !ctx.ignore?.excludes(rel);
}

/**
 * Every included entry below `from` (relative), parents before children, in lexical order.
 * Excluded directories are entered only when a `!` pattern could re-include something inside
 * them; a re-included file brings its (excluded) parent directories along.
 */
export async function* walkContext(ctx: BuildContext, from = ''): AsyncGenerator<ContextEntry> {
  const emitted = new Set<string>();
  const plainExceptions = exceptionPrefixes(ctx.ignore);
  async function* walk(rel: string): AsyncGenerator<ContextEntry> {
    const names = (await readdir(path.join(ctx.root, rel))).sort();
    for (const name of names) {
      const child = rel === '' ? name : `${rel}/${name}`;
      const stat = await lstat(path.join(ctx.root, child));
      const excluded = ctx.ignore?.excludes(child) ?? false;
      if (!excluded) {
        yield* withParents(child, stat);
        if (stat.isDirectory()) yield* walk(child);
      } else if (stat.isDirectory() && mayReinclude(child, plainExceptions)) {
        yield* walk(child);
      }
    }
  }
  async function* withParents(rel: string, stat: Stats): AsyncGenerator<ContextEntry> {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (parent.length <= from.length || emitted.has(parent)) continue;
      emitted.add(parent);
      yield { rel: parent, stat: await lstat(path.join(ctx.root, parent)) };
    }
    emitted.add(rel);
    yield { rel, stat };
  }
  yield* walk(from);
}

/**
 * BuildKit's rule for entering excluded directories: never without `!` patterns; only towards
 * plain-path exceptions when they are all plain; always when one has wildcards. Returns the plain
 * prefixes, or `'all'`, or `'none'`.
 */
function exceptionPrefixes(ignore: IgnoreMatcher | undefined): string[] | 'all' | 'none' {
  const exceptions = ignore?.patterns.filter((p) => p.exclusion) ?? [];
  if (exceptions.length === 0) return 'none';
  const plain = exceptions.map((p) => p.pattern.replace(/\/\*\*?$/, ''));
  return plain.some((p) => /[*?[\]^\\]/.test(p)) ? 'all' : plain;
}

function mayReinclude(dir: string, prefixes: string[] | 'all' | 'none'): boolean {
  if (prefixes === 'all') return true;
  if (prefixes === 'none') return false;
  return prefixes.some((p) => p === dir || p.startsWith(`${dir}/`));
}
