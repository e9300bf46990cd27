/**
 * COPY's file operation (shared by ADD for local files), following
 * `shared/spec/copy-add-semantics.md`:
 * - a directory source copies its *contents*; a file source goes into a destination that ends in
 *   `/` or is an existing directory, else becomes the destination;
 * - the destination and its parents are resolved inside the rootfs (symlinks followed there, never
 *   on the host); missing parents are created 0755 (or the numeric `--chmod`), owned by `--chown`
 *   or root; existing directories at the top keep their metadata;
 * - below the top, directories merge and take the source's metadata, files and symlinks replace
 *   what is there, a file never replaces a directory;
 * - owners: context files arrive as 0:0, stage files keep theirs, `--chown` overrides all;
 *   modes from the source unless `--chmod`; times from the source; hard links within one copy are
 *   kept; sockets become empty files; symlinks inside directories are copied as symlinks.
 */
import { copyFile, chmod, lchown, link, lstat, lutimes, mkdir, readdir, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import type { IgnoreMatcher } from '../context/dockerignore.js';
import { InvalidArgumentError } from '../errors.js';
import { limit } from '../util/limit.js';
import { mknod } from '../util/native.js';
import { modeFor, type ModeChange } from './ownership.js';
import { resolveParts } from './resolve.js';
import type { MatchedSource, SourceTree } from './sources.js';

/** How entries are owned and moded. */
export interface CopyOptions {
  /** Keep source owners (`--from`) instead of 0:0 (the build context). */
  keepOwners: boolean;
  chown?: { uid: number; gid: number };
  chmod?: ModeChange;
  /** `--exclude`, matched relative to each source. */
  exclude?: IgnoreMatcher;
  /** `--parents`: keep each source's path (as matched) under the destination. */
  parents?: boolean;
  /** With `--parents`: the part before a `/./` pivot, which is not kept. */
  pivot?: string;
}

/** Copies `matches` from `tree` to `dest` (absolute inside `rootfs`; a trailing `/` means a directory). */
export async function copyInto(tree: SourceTree, matches: readonly MatchedSource[], rootfs: string, dest: string, options: CopyOptions): Promise<void> {
  const links = new Map<string, string>();
  for (const match of matches) {
    const kept = options.pivot && match.matched.startsWith(`${options.pivot}/`) ? match.matched.slice(options.pivot.length + 1) : match.matched;
    const base = options.parents ? path.posix.join(dest, path.posix.dirname(kept)) + '/' : dest;
    const source = path.join(tree.root, match.real);
    if (match.stat.isDirectory()) {
      const target = await ensureDir(rootfs, options.parents ? path.posix.join(base, path.posix.basename(kept)) : base, options);
      await copyChildren(tree, match.real, '', target, options, links);
      continue;
    }
    if (options.exclude?.excludes(match.name)) continue;
    const destParts = await resolveParts(rootfs, base);
    const destAbs = path.join(rootfs, ...destParts);
    const destStat = await lstat(destAbs).catch(() => undefined);
    let target: string;
    if (base.endsWith('/') || destStat?.isDirectory()) {
      target = path.join(await ensureDir(rootfs, base, options), match.name);
    } else {
      await ensureDir(rootfs, `/${destParts.slice(0, -1).join('/')}`, options);
      target = destAbs;
    }
    await copyEntry(source, target, match.stat, options, links, false);
  }
}

/**
 * Makes sure `dir` exists as a directory inside `rootfs`, creating missing components with the
 * parent-directory rules; returns its host path. An existing non-directory is an error.
 */
export async function ensureDir(rootfs: string, dir: string, options: Pick<CopyOptions, 'chown' | 'chmod'>): Promise<string> {
  const parts = await resolveParts(rootfs, dir);
  let current = rootfs;
  for (const [i, part] of parts.entries()) {
    current = path.join(current, part);
    const stat = await lstat(current).catch(() => undefined);
    if (stat?.isDirectory()) continue;
    if (stat) throw new InvalidArgumentError(`cannot copy to non-directory: /${parts.slice(0, i + 1).join('/')}`);
    await mkdir(current);
    await chmod(current, options.chmod?.kind === 'numeric' ? options.chmod.mode : 0o755);
    await lchown(current, options.chown?.uid ?? 0, options.chown?.gid ?? 0);
  }
  return current;
}

async function copyChildren(tree: SourceTree, real: string, rel: string, target: string, options: CopyOptions, links: Map<string, string>): Promise<void> {
  const dirAbs = path.join(tree.root, real);
  const names: Array<{ real: string; rel: string; name: string }> = [];
  for (const name of (await readdir(dirAbs)).sort()) {
    const childReal = real === '' ? name : `${real}/${name}`;
    const childRel = rel === '' ? name : `${rel}/${name}`;
    if (tree.includes && !tree.includes(childReal) && !tree.reincludes) continue;
    if (options.exclude?.excludes(childRel)) continue;
    names.push({ real: childReal, rel: childRel, name });
  }
  const stats = await Promise.all(names.map((c) => lstat(path.join(tree.root, c.real))));
  // Plain files are independent: copy them several at a time (the thread pool overlaps their
  // system calls). Directories and hard-linked files (which refer to each other) go in order.
  const parallel: Array<() => Promise<void>> = [];
  for (const [i, child] of names.entries()) {
    const stat = stats[i] as Stats;
    if (tree.includes && !tree.includes(child.real) && !stat.isDirectory()) continue;
    const childTarget = path.join(target, child.name);
    if (stat.isDirectory()) {
      const existing = await lstat(childTarget).catch(() => undefined);
      if (existing && !existing.isDirectory()) await rm(childTarget, { force: true });
      if (!existing?.isDirectory()) await mkdir(childTarget);
      await copyChildren(tree, child.real, child.rel, childTarget, options, links);
      await applyMetadata(childTarget, stat, options, true);
    } else if (stat.isFile() && stat.nlink > 1) {
      await copyEntry(path.join(tree.root, child.real), childTarget, stat, options, links, true);
    } else {
      parallel.push(() => copyEntry(path.join(tree.root, child.real), childTarget, stat, options, links, true));
    }
  }
  // After a failure no further copy starts (the step is failing; its snapshot goes away).
  const sixteen = limit(16);
  let failed = false;
  const guarded = async (task: () => Promise<void>): Promise<void> => {
    if (failed) return;
    await task().catch((err: unknown) => {
      failed = true;
      throw err;
    });
  };
  await Promise.all(parallel.map((task) => sixteen(() => guarded(task))));
}


/** Copies one non-directory entry to `target` (replacing a file or symlink there). */
async function copyEntry(source: string, target: string, stat: Stats, options: CopyOptions, links: Map<string, string>, keepLinks: boolean): Promise<void> {
  const existing = await lstat(target).catch(() => undefined);
  if (existing?.isDirectory()) throw new InvalidArgumentError(`cannot replace to directory ${target} with file`);
  if (existing) await rm(target, { force: true });
  const inode = `${stat.dev}:${stat.ino}`;
  const earlier = stat.nlink > 1 ? links.get(inode) : undefined;
  if (earlier) {
    await link(earlier, target);
    return;
  }
  if (stat.isSymbolicLink() && keepLinks) {
    await symlink(await readlink(source), target);
  } else if (stat.isFile()) {
    await copyFile(source, target);
    if (stat.nlink > 1) links.set(inode, target);
  } else if (stat.isSocket()) {
    await writeFile(target, '');
  } else if (stat.isFIFO() || stat.isCharacterDevice() || stat.isBlockDevice()) {
    await mknod(target, stat.isFIFO() ? 'p' : stat.isBlockDevice() ? 'b' : 'c', (stat.rdev >> 8) & 0xfff, (stat.rdev & 0xff) | ((stat.rdev >> 12) & 0xfff00));
  } else {
    await copyFile(source, target);
  }
  await applyMetadata(target, stat, options, false);
}

async function applyMetadata(target: string, stat: Stats, options: CopyOptions, isDir: boolean): Promise<void> {
  const uid = options.chown?.uid ?? (options.keepOwners ? stat.uid : 0);
  const gid = options.chown?.gid ?? (options.keepOwners ? stat.gid : 0);
  await lchown(target, uid, gid);
  if (!stat.isSymbolicLink()) {
    await chmod(target, modeFor(options.chmod, stat.mode, isDir));
    await utimes(target, stat.atime, stat.mtime);
  } else {
    await lutimes(target, stat.atime, stat.mtime);
  }
}

