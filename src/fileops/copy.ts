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
 *   kept; sockets become empty files; symlinks inside directories are copied as symlinks;
 * - a directory source's times go to the destination directory it is copied into.
 */
import {
  chmodSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { copyFile, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { IgnoreMatcher } from '../context/dockerignore.js';
import { InvalidArgumentError } from '../errors.js';
import { mknod } from '../util/native.js';
import { TimeSlicer } from '../util/time-slice.js';
import { copyFileAs } from './copy-file.js';
import type { DeferredLinks } from './deferred-links.js';
import { modeFor, type ModeChange } from './ownership.js';
import { resolveParts } from './resolve.js';
import type { MatchedSource, SourceTree } from './sources.js';
import { lstatNow } from '../util/absent.js';

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
  /**
   * Regular files to hard-link from the file mirror after the copy instead of copying them now
   * (`deferred-links.ts`); only for context files that keep their mode and become 0:0.
   */
  deferred?: DeferredLinks;
  signal?: AbortSignal;
}

/** Copies `matches` from `tree` to `dest` (absolute inside `rootfs`; a trailing `/` means a directory). */
export async function copyInto(
  tree: SourceTree,
  matches: readonly MatchedSource[],
  rootfs: string,
  dest: string,
  options: CopyOptions,
): Promise<void> {
  const links = new Map<string, string>();
  const slicer = new TimeSlicer(options.signal);
  for (const match of matches) {
    const kept = options.pivot && match.matched.startsWith(`${options.pivot}/`) ? match.matched.slice(options.pivot.length + 1) : match.matched;
    const base = options.parents ? path.posix.join(dest, path.posix.dirname(kept)) + '/' : dest;
    const source = path.join(tree.root, match.real);
    if (match.stat.isDirectory()) {
      const target = await ensureDir(rootfs, options.parents ? path.posix.join(base, path.posix.basename(kept)) : base, options);
      await copyChildren(tree, match.real, '', target, options, links, slicer, false);
      // BuildKit (fsutil) gives the destination directory the source directory's times, not its
      // mode or owner, whether it existed or not: the last directory source wins. A context's root
      // has no times of its own there (see `SourceTree.untimedRoot`): the directory keeps the copy's.
      if (!(match.real === '' && tree.untimedRoot)) await utimes(target, match.stat.atime, match.stat.mtime);
      continue;
    }
    // `--exclude` filters what is below a source, never a matched source itself (as BuildKit).
    const destParts = await resolveParts(rootfs, base);
    const destAbs = path.join(rootfs, ...destParts);
    const destStat = lstatNow(destAbs);
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
 * parent-directory rules; returns its host path. An existing non-directory is an error. Synchronous
 * calls, as the copy's walk makes (a RUN's working directory is made this way too).
 */
export async function ensureDir(rootfs: string, dir: string, options: Pick<CopyOptions, 'chown' | 'chmod' | 'deferred'>): Promise<string> {
  const parts = await resolveParts(rootfs, dir);
  let current = rootfs;
  for (const [i, part] of parts.entries()) {
    current = path.join(current, part);
    const stat = lstatNow(current);
    if (stat?.isDirectory()) continue;
    if (stat) throw new InvalidArgumentError(`cannot copy to non-directory: /${parts.slice(0, i + 1).join('/')}`);
    mkdirSync(current);
    options.deferred?.madeDir(current);
    chmodSync(current, options.chmod?.kind === 'numeric' ? options.chmod.mode : 0o755);
    lchownSync(current, options.chown?.uid ?? 0, options.chown?.gid ?? 0);
  }
  return current;
}

/**
 * Copies the entries below `real` into `target`, in name order. The calls are synchronous, in
 * time slices (see `util/time-slice.ts`): per small file they are few and cheap, and a thread-pool
 * round trip each would cost more than the copy.
 */
async function copyChildren(
  tree: SourceTree,
  real: string,
  rel: string,
  target: string,
  options: CopyOptions,
  links: Map<string, string>,
  slicer: TimeSlicer,
  fresh: boolean,
): Promise<void> {
  // In a directory this call's caller just made (`fresh`) nothing is there yet and each name comes
  // once: no target is looked up (a COPY of 2,000 files into a new tree made 2,000 failing lstats).
  // Children are `dir + name` (a name from readdir is one clean component): a join each is not free.
  const sourceDir = path.join(tree.root, real, '/');
  const targetDir = path.join(target, '/');
  for (const name of readdirSync(sourceDir).sort()) {
    await slicer.pause();
    const childReal = real === '' ? name : `${real}/${name}`;
    const childRel = rel === '' ? name : `${rel}/${name}`;
    if (tree.contains && !tree.contains(childReal)) continue;
    if (options.exclude?.excludes(childRel)) continue;
    const source = sourceDir + name;
    const stat = lstatSync(source);
    const childTarget = targetDir + name;
    if (stat.isDirectory()) {
      const existing = fresh ? undefined : lstatSync(childTarget, { throwIfNoEntry: false });
      if (existing && !existing.isDirectory()) rmSync(childTarget, { force: true });
      options.deferred?.drop(childTarget);
      const made = !existing?.isDirectory();
      if (made) {
        mkdirSync(childTarget);
        options.deferred?.madeDir(childTarget);
      }
      await copyChildren(tree, childReal, childRel, childTarget, options, links, slicer, made);
      applyMetadata(childTarget, stat, options, true);
    } else {
      await copyEntry(source, childTarget, stat, options, links, true, fresh);
    }
  }
}

/** Copies one non-directory entry to `target` (replacing a file or symlink there). */
async function copyEntry(
  source: string,
  target: string,
  stat: Stats,
  options: CopyOptions,
  links: Map<string, string>,
  keepLinks: boolean,
  absent = false,
): Promise<void> {
  if (!absent) {
    const existing = lstatSync(target, { throwIfNoEntry: false });
    if (existing?.isDirectory()) throw new InvalidArgumentError(`cannot replace to directory ${target} with file`);
    if (existing) rmSync(target, { force: true });
    options.deferred?.drop(target);
  }
  if (options.deferred?.take(source, target, stat)) return;
  const inode = `${stat.dev}:${stat.ino}`;
  const earlier = stat.nlink > 1 ? links.get(inode) : undefined;
  if (earlier) {
    linkSync(earlier, target);
    return;
  }
  if (stat.isFile()) {
    await copyFileAs(source, target, stat, {
      uid: options.chown?.uid ?? (options.keepOwners ? stat.uid : 0),
      gid: options.chown?.gid ?? (options.keepOwners ? stat.gid : 0),
      mode: modeFor(options.chmod, stat.mode, false),
    });
    if (stat.nlink > 1) links.set(inode, target);
    return;
  }
  if (stat.isSymbolicLink() && keepLinks) {
    symlinkSync(readlinkSync(source), target);
  } else if (!(stat.isSocket() || stat.isFIFO() || stat.isCharacterDevice() || stat.isBlockDevice())) {
    // A matched source that is a symlink: what it points to is copied.
    await copyFile(source, target);
  } else if (stat.isSocket()) {
    writeFileSync(target, '');
  } else {
    await mknod(
      target,
      stat.isFIFO() ? 'p' : stat.isBlockDevice() ? 'b' : 'c',
      (stat.rdev >> 8) & 0xfff,
      (stat.rdev & 0xff) | ((stat.rdev >> 12) & 0xfff00),
    );
  }
  applyMetadata(target, stat, options, false);
}

function applyMetadata(target: string, stat: Stats, options: CopyOptions, isDir: boolean): void {
  const uid = options.chown?.uid ?? (options.keepOwners ? stat.uid : 0);
  const gid = options.chown?.gid ?? (options.keepOwners ? stat.gid : 0);
  lchownSync(target, uid, gid);
  if (!stat.isSymbolicLink()) {
    chmodSync(target, modeFor(options.chmod, stat.mode, isDir));
    utimesSync(target, stat.atime, stat.mtime);
  } else {
    lutimesSync(target, stat.atime, stat.mtime);
  }
}
