/**
 * COPY, ADD and WORKDIR's directory: prepare a snapshot on the parent, write the files into its
 * mounted rootfs (no container), commit, turn the change into a layer. The snapshot is committed
 * first so that the next step can start on it (`committed`) while the layer is written from the
 * same mounts, which the snapshotter contract keeps readable after a commit (`commitAndDiff`: not
 * where the differ corrects the upper dir). `--link` copies into an
 * empty tree instead, so its layer does not follow the parent's symlinks nor read its files; that
 * layer is then unpacked on top of the parent to continue the stage.
 */
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { contextTree, type BuildContext } from '../context/build-context.js';
import { parseDockerignore } from '../context/dockerignore.js';
import type { LayerResult } from '../diff/layer-writer.js';
import { expandHeredocBody, lookupIn } from '../dockerfile/expand.js';
import { InvalidArgumentError, UnsupportedError } from '../errors.js';
import { copyInto, ensureDir, type CopyOptions } from '../fileops/copy.js';
import { DeferredLinks } from '../fileops/deferred-links.js';
import type { FileMirror } from '../fileops/file-mirror.js';
import { extractArchive } from '../fileops/extract.js';
import { adoptExistingDirs } from '../fileops/link-dirs.js';
import { parseChmod, resolveChown } from '../fileops/ownership.js';
import { checkoutGit, fetchUrl, parseGitSource, sourceKind } from '../fileops/remote-sources.js';
import { readTextInRoot, rootParts } from '../fileops/resolve.js';
import { expandSource, type SourceTree } from '../fileops/sources.js';
import type { FileStep, SourceLocation } from '../plan/types.js';
import { withMounted } from '../runtime/mount.js';
import { writeTarget } from '../snapshot/mount-data.js';
import type { Mount, Snapshotter } from '../snapshot/snapshotter.js';
import type { Applier } from '../diff/applier.js';
import type { Differ } from '../diff/differ.js';
import { splitEnv } from '../plan/scope.js';
import { commitAndDiff, withActiveSnapshot } from './active-snapshot.js';

/** What a file step needs from the build. */
export interface FileContext {
  snapshotter: Snapshotter;
  differ: Differ;
  applier: Applier;
  /** The state root (scratch directories live in its `tmp/`). */
  root: string;
  context?: BuildContext;
  /** Directories of other stages or images, for `--from`. */
  sourceDir?: (from: Exclude<SourceLocation, { kind: 'context' }>) => Promise<string>;
  sourceDateEpoch?: number;
  /** The state root's copies of context files, which a COPY links instead of copying (`file-mirror.ts`). */
  mirror?: FileMirror;
  signal?: AbortSignal;
  /**
   * What stops the layer once the snapshot is committed, instead of `signal`: a build passes its
   * own (Ctrl-C), not the one another step's failure aborts, so a step that succeeded is recorded.
   */
  layerSignal?: AbortSignal;
}

/**
 * Runs `step` on the committed snapshot `parent`; commits the result as `name`, says so
 * (`committed`), then writes its layer. A layer that fails after the commit leaves `name` without a
 * cache record, for `prune` to reclaim (the steps after it may already build on it).
 */
export async function runFileStep(
  step: FileStep,
  parent: string | undefined,
  name: string,
  ctx: FileContext,
  committed: () => void = () => undefined,
): Promise<LayerResult> {
  if (step.link && step.action !== 'mkdir' && step.chmod === undefined) return runLinked(step, parent, name, ctx);
  const tree = sourceTree(step, ctx);
  return withActiveSnapshot(ctx, parent, 'file', async ({ key, mounts, scratch, parentMounts }) => {
    const rootfs = path.join(scratch, 'rootfs');
    await mkdir(rootfs);
    await copyLinking(step, ctx, mounts, rootfs, (dir, deferred) => applyStep(step, dir, scratch, ctx, tree, dir, deferred));
    return commitAndDiff(ctx, { key, mounts }, name, committed, (signal) => layerOf(step, mounts, parentMounts, { ...ctx, ...signal }));
  });
}

/**
 * `--link`: the files go into an empty tree (its own layer), then onto the parent. Directories the
 * parent already has keep its mode and owner in that layer (`adoptExistingDirs`), as in BuildKit;
 * the layer then depends on the parent, which every step's cache key includes anyway.
 */
async function runLinked(step: FileStep, parent: string | undefined, name: string, ctx: FileContext): Promise<LayerResult> {
  const tree = sourceTree(step, ctx);
  return withActiveSnapshot(ctx, parent, 'file', async ({ key, mounts: activeMounts, parentMounts }) => {
    const layer = await withActiveSnapshot(ctx, undefined, 'link', async ({ key: linkKey, mounts, scratch, parentMounts: none }) => {
      const rootfs = path.join(scratch, 'rootfs');
      await mkdir(rootfs);
      await copyLinking(step, ctx, mounts, rootfs, async (dir, deferred) => {
        if (parent === undefined) return applyStep(step, dir, scratch, ctx, tree, dir, deferred);
        const below = path.join(scratch, 'parent');
        await mkdir(below);
        // As in BuildKit, a --chown name is looked up in the stage's files, not in the empty link tree.
        await withMounted(await parentMounts(), below, async (parentDir) => {
          await applyStep(step, dir, scratch, ctx, tree, parentDir, deferred);
          adoptExistingDirs(dir, parentDir);
        });
      });
      const result = await layerOf(step, mounts, none, ctx);
      await ctx.snapshotter.remove(linkKey);
      return result;
    });
    await ctx.applier.apply(layer.descriptor, activeMounts, ctx.signal ? { signal: ctx.signal } : {});
    await ctx.snapshotter.commit(name, key);
    return layer;
  });
}

/**
 * Runs `apply` on the mounted snapshot, then links the context files it deferred into the
 * snapshot's own directory (`fileops/deferred-links.ts`). Only a COPY from the context whose files
 * keep their mode and become 0:0 defers: the mirror's copies are exactly that.
 */
async function copyLinking(
  step: FileStep,
  ctx: FileContext,
  mounts: Mount[],
  rootfs: string,
  apply: (dir: string, deferred: DeferredLinks | undefined) => Promise<void>,
): Promise<void> {
  const linkable = ctx.mirror && step.action === 'copy' && step.from.kind === 'context' && !step.chown && !step.chmod;
  const deferred = linkable ? new DeferredLinks(ctx.mirror as FileMirror) : undefined;
  let mountedAt = rootfs;
  await withMounted(mounts, rootfs, (dir) => {
    mountedAt = dir;
    return apply(dir, deferred);
  });
  if (deferred && deferred.size > 0) await deferred.link(mountedAt, writeTarget(mounts).dir, ctx.signal);
}

async function layerOf(
  step: FileStep,
  mounts: Mount[],
  parentMounts: () => Promise<Mount[]>,
  ctx: Pick<FileContext, 'differ' | 'sourceDateEpoch' | 'signal'>,
): Promise<LayerResult> {
  return ctx.differ.diff(mounts, parentMounts, {
    label: `the layer of ${step.name}`,
    ...(ctx.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: ctx.sourceDateEpoch }),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
}

/**
 * The tree local sources are read from, asked for before the step's own snapshot is mounted so that
 * another stage's view is mounted meanwhile. A failure is reported where the tree is used.
 */
function sourceTree(step: FileStep, ctx: FileContext): Promise<SourceTree> | undefined {
  if (step.action === 'mkdir' || !step.sources.some((source) => sourceKind(source) === 'local')) return undefined;
  const tree = treeFor(step.from, ctx);
  tree.catch(() => undefined); // observed (and reported) where the tree is used
  return tree;
}

/**
 * Writes what the step asks for into the mounted `rootfs`; `tree` is `sourceTree`'s. `usersRoot` is
 * the tree whose /etc/passwd and /etc/group name owners: the rootfs itself, or with --link the parent.
 * `deferred` takes the context files to link after the mount (`copyLinking`).
 */
async function applyStep(
  step: FileStep,
  rootfs: string,
  scratch: string,
  ctx: FileContext,
  tree: Promise<SourceTree> | undefined,
  usersRoot: string,
  deferred?: DeferredLinks,
): Promise<void> {
  const chown =
    step.chown === undefined || step.chown === ''
      ? undefined
      : resolveChown(step.chown, await readTextInRoot(usersRoot, 'etc/passwd'), await readTextInRoot(usersRoot, 'etc/group'));
  if (step.action === 'mkdir') {
    await ensureDir(rootfs, step.dest, chown ? { chown } : {});
    return;
  }
  const options: CopyOptions = {
    keepOwners: step.from.kind !== 'context',
    ...(chown ? { chown } : {}),
    ...(step.chmod ? { chmod: parseChmod(step.chmod) } : {}),
    ...(step.exclude.length > 0 ? { exclude: parseDockerignore(step.exclude.join('\n'), '--exclude') } : {}),
    parents: step.parents,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  };
  for (const [i, source] of step.sources.entries()) {
    const kind = sourceKind(source);
    if (kind !== 'local' && step.action === 'copy')
      throw new InvalidArgumentError(`source can't be a ${kind === 'git' ? 'git ref' : 'URL'} for COPY`);
    if (kind !== 'http' && kind !== 'git' && step.checksum !== undefined) throw new InvalidArgumentError('checksum requires HTTP(S) or Git sources');
    if (kind === 'http') await addUrl(source, step, rootfs, scratch, options, ctx);
    else if (kind === 'git') await addGit(source, step, rootfs, path.join(scratch, `git-${i}`), options);
    else await addLocal(await (tree as Promise<SourceTree>), source, step, rootfs, deferred ? { ...options, deferred } : options);
  }
  if (step.inline.length > 0) await addInline(step, rootfs, scratch, options);
  // With --parents the destination exists even when a wildcard matched nothing; otherwise, as in
  // BuildKit, a COPY whose sources all matched nothing creates nothing.
  if (step.parents && step.sources.length > 0 && step.dest.endsWith('/')) await ensureDir(rootfs, step.dest, chown ? { chown } : {});
}

async function treeFor(from: SourceLocation, ctx: FileContext): Promise<SourceTree> {
  if (from.kind === 'context') {
    if (!ctx.context) throw new InvalidArgumentError('COPY from the build context needs a context');
    return contextTree(ctx.context);
  }
  if (!ctx.sourceDir) throw new UnsupportedError(`COPY --from=${from.kind === 'stage' ? from.name : from.ref} needs the solver`);
  return { root: await ctx.sourceDir(from) };
}

async function addLocal(tree: SourceTree, source: string, step: FileStep, rootfs: string, copyOptions: CopyOptions): Promise<void> {
  const matches = await expandSource(tree, source);
  // `a/b/./c/d` with --parents keeps only `c/d`: the first `/./` is the pivot.
  const pivotAt = source.indexOf('/./');
  const options = step.parents && pivotAt >= 0 ? { ...copyOptions, pivot: rootParts(source.slice(0, pivotAt)).join('/') } : copyOptions;
  for (const match of matches) {
    if (step.action === 'add' && step.unpack !== false && match.stat.isFile()) {
      const owner = options.chown ? { owner: options.chown } : {};
      if (await extractArchive(path.join(tree.root, match.real), rootfs, step.dest.endsWith('/') ? step.dest : `${step.dest}/`, owner)) continue;
    }
    await copyInto(tree, [match], rootfs, step.dest, options);
  }
}

async function addUrl(url: string, step: FileStep, rootfs: string, scratch: string, options: CopyOptions, ctx: FileContext): Promise<void> {
  const { file, name } = await fetchUrl(url, scratch, {
    ...(step.checksum ? { checksum: step.checksum } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  if (
    step.unpack === true &&
    (await extractArchive(file, rootfs, step.dest.endsWith('/') ? step.dest : `${step.dest}/`, options.chown ? { owner: options.chown } : {}))
  )
    return;
  const dir = path.join(scratch, 'url-out');
  await mkdir(dir, { recursive: true });
  const named = path.join(dir, name);
  await writeFile(named, await readFile(file), { mode: 0o600 });
  const { mtime } = await stat(file);
  await utimes(named, mtime, mtime);
  const tree = { root: dir };
  await copyInto(tree, await expandSource(tree, name), rootfs, step.dest, { ...options, keepOwners: false });
}

async function addGit(source: string, step: FileStep, rootfs: string, dir: string, options: CopyOptions): Promise<void> {
  const root = await checkoutGit(parseGitSource(source, step.keepGitDir ?? false), dir, step.checksum);
  const tree = { root };
  await copyInto(tree, await expandSource(tree, '.'), rootfs, step.dest.endsWith('/') ? step.dest : `${step.dest}/`, {
    ...options,
    keepOwners: false,
  });
}

/** Heredoc sources: files named after their delimiter, 0644, expanded when unquoted. */
async function addInline(step: FileStep, rootfs: string, scratch: string, options: CopyOptions): Promise<void> {
  const dir = path.join(scratch, 'inline');
  await mkdir(dir, { recursive: true });
  const env = lookupIn(Object.fromEntries(step.env.map(splitEnv)));
  for (const source of step.inline) {
    await writeFile(path.join(dir, source.path), source.expand ? expandHeredocBody(source.content, env) : source.content, { mode: 0o644 });
  }
  const tree = { root: dir };
  const matches = (await Promise.all(step.inline.map((s) => expandSource(tree, s.path)))).flat();
  await copyInto(tree, matches, rootfs, step.inline.length > 1 && !step.dest.endsWith('/') ? `${step.dest}/` : step.dest, {
    ...options,
    keepOwners: false,
  });
}
