/**
 * RUN: prepare a writable snapshot on the parent, run the step's process in it with runc, turn what
 * changed into a layer and commit the snapshot. The container sees the step's RUN mounts; the mount
 * points the runtime had to create for them (and for /etc/hosts and /etc/resolv.conf) are removed
 * again when they are still empty, as BuildKit does, so they never reach the layer; /dev, /proc and
 * /sys stay, as in BuildKit's layers.
 *
 * Every path taken from the Dockerfile or from an image is resolved inside its own root
 * (`fileops/resolve.ts`): mount sources inside the stage, image or context they come from, the
 * working directory and the mount stubs inside the step's rootfs. A symlink made by an earlier step
 * therefore never leads a bind, a cache seed, a mkdir or a removal onto the host. Binds are not
 * recursive: nothing mounted below a source is ever exposed.
 */
import { mkdirSync, readdirSync, rmdirSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import type { Differ } from '../diff/differ.js';
import type { LayerResult } from '../diff/layer-writer.js';
import { InvalidArgumentError, NotFoundError, UnsupportedError } from '../errors.js';
import { ensureDir } from '../fileops/copy.js';
import { readTextInRoot, resolveInRoot, resolveParts } from '../fileops/resolve.js';
import type { ExecStep, Mount as PlanMount } from '../plan/types.js';
import { ExecError } from '../runtime/exec-error.js';
import { mountedAt, type Mounted } from '../runtime/mount.js';
import type { ContainerMount } from '../runtime/oci-spec.js';
import type { ExecOptions, Executor } from '../runtime/executor.js';
import type { NetworkMode, NetworkProvider } from '../network/network.js';
import { resolveUser } from '../runtime/user.js';
import { tryLock, withFileLock, type Release } from '../util/file-lock.js';
import { commitAndDiff, withActiveSnapshot } from './active-snapshot.js';
import { forwardSshAgent } from './ssh-forward.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import { lstatIfExists, lstatNow, statIfExists } from '../util/absent.js';

const run = promisify(execFile);
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Binds of files and directories that are not the container's own: one mount, never its submounts. */
const READ_ONLY_BIND = ['bind', 'ro'];

/** What running a RUN step needs from the build. */
export interface ExecContext {
  snapshotter: Snapshotter;
  executor: Executor;
  differ: Differ;
  /** The state root (cache mounts live under `<root>/cache`). */
  root: string;
  /**
   * The host path showing `source` (a path in the build context, resolved inside it), for binds
   * without `from`: the context as `.dockerignore` filters it (`builder/context-views.ts`).
   */
  contextSource?: (source: string) => Promise<string>;
  /** Root directories of other stages or images, for `--mount from=`. */
  sourceDir?: (from: Exclude<Extract<PlanMount, { type: 'bind' }>['from'], { kind: 'context' }>) => Promise<string>;
  /** Secret values by id (`--secret id=…`). */
  secrets?: Readonly<Record<string, Buffer>>;
  /** SSH agent sockets to forward, by id (`--ssh default`, `--ssh id=…`). */
  sshAgents?: Readonly<Record<string, string>>;
  /** The build's network providers, by mode (`network/providers.ts`): each step gets its namespace from one. */
  networks: (mode: NetworkMode) => NetworkProvider;
  /** `--add-host`, `--shm-size` and `--ulimit`: the same for every RUN of the build. */
  sandbox?: Pick<ExecOptions, 'extraHosts' | 'shmSize' | 'ulimits'>;
  sourceDateEpoch?: number;
  /** The platform the step runs as (its seccomp filter names that ABI); default: the host's. */
  platform?: ExecOptions['platform'];
  output?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void;
  signal?: AbortSignal;
  /** What stops the layer once the snapshot is committed, instead of `signal` (`FileContext`'s). */
  layerSignal?: AbortSignal;
}

/**
 * Runs `step` on the committed snapshot `parent`; commits the result as `name`, says so
 * (`committed`: the next step may start on it), then writes its layer from the same mounts.
 */
export async function runExec(
  step: ExecStep,
  parent: string | undefined,
  name: string,
  ctx: ExecContext,
  committed: () => void = () => undefined,
): Promise<LayerResult> {
  // The step's network (a namespace, 15–40 ms for `default`) is made while its snapshot is prepared
  // and mounted; it is released as soon as the process has ended, or here when the step fails first.
  const networkReady = ctx.networks(step.network).prepare(ctx.signal);
  networkReady.catch(() => undefined); // awaited where the process starts, or below
  let released: Promise<void> | undefined;
  try {
    return await withActiveSnapshot(ctx, parent, 'exec', async ({ key, mounts, scratch, parentMounts }) => {
      const rootfs = path.join(scratch, 'rootfs');
      mkdirSync(rootfs);
      // The rootfs is mounted once: prepared here, then handed to runc as it is.
      let stubs: string[] = [];
      const mounted = await mountedAt(mounts, rootfs);
      const status = await unmountingOnError(mounted, async (dir) => {
        const prepared = await prepareRootfs(step, dir);
        stubs = prepared.stubs;
        const { containerMounts, env, locks, held } = await runMounts(step, ctx, scratch);
        const network = await networkReady;
        const status = await withLocks(locks, () =>
          ctx.executor.run(
            { args: step.args, env: [...withPath(step.env), ...env, ...step.proxyEnv], cwd: step.cwd, user: prepared.user },
            {
              rootfs: dir,
              mounts: containerMounts,
              hostname: 'buildkitsandbox',
              network,
              security: step.security,
              ...(ctx.platform ? { platform: ctx.platform } : {}),
              ...ctx.sandbox,
              ...(ctx.output ? { output: ctx.output } : {}),
              ...(ctx.signal ? { signal: ctx.signal } : {}),
            },
          ),
        ).finally(() => {
          // The namespace goes as soon as the process has ended (20–40 ms), while the layer is written.
          released = network.release();
          return Promise.all(held.map((release) => release()));
        });
        await removeStubs(dir, prepared.stubs);
        return status;
      });
      // The layer is read from the snapshot's own directory while the rootfs is unmounted.
      const unmounted = mounted.unmount();
      if (status.exitCode !== 0) {
        await unmounted;
        throw new ExecError(step.args, status.exitCode, status.signal, status.tail);
      }
      return commitAndDiff(ctx, { key, mounts, unmounted }, name, committed, (signal) =>
        ctx.differ.diff(mounts, parentMounts, {
          label: `the layer of ${step.name}`,
          // The directories the mount stubs came and went in: their entries changed.
          entriesChanged: stubs.map((stub) => path.posix.dirname(stub)).filter((dir) => dir !== '.' && !stubs.includes(dir)),
          ...(ctx.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: ctx.sourceDateEpoch }),
          ...signal,
        }),
      );
    });
  } finally {
    released ??= networkReady.then(
      (network) => network.release(),
      () => undefined,
    );
    await released;
  }
}

/** PATH is added when the environment has none (BuildKit's default on Linux). */
function withPath(env: readonly string[]): string[] {
  return env.some((e) => e.startsWith('PATH=')) ? [...env] : [DEFAULT_PATH, ...env];
}

/**
 * With the rootfs mounted: resolve the user, create the working directory (inside the rootfs,
 * root's, 0755, as BuildKit does), and note the mount points that do not exist yet, with their
 * missing parents, deepest first (the runtime will create them; `removeStubs` takes them away).
 */
async function prepareRootfs(step: ExecStep, rootfs: string): Promise<{ user: ReturnType<typeof resolveUser>; stubs: string[] }> {
  // Synchronous calls, here and in `removeStubs`: these few files are the RUN's way to its container,
  // often while another step's layer keeps the event loop busy (docs/performance.md).
  const user = resolveUser(step.user, await readTextInRoot(rootfs, 'etc/passwd'), await readTextInRoot(rootfs, 'etc/group'));
  const points = ['etc/resolv.conf', 'etc/hosts', ...step.mounts.flatMap((m) => ('target' in m && m.target ? [m.target] : []))];
  const stubs: string[] = [];
  for (const point of points) {
    const parts = await resolveParts(rootfs, point);
    for (let n = parts.length; n > 0; n--) {
      const rel = parts.slice(0, n).join('/');
      if (lstatNow(path.join(rootfs, rel))) break;
      if (!stubs.includes(rel)) stubs.push(rel);
    }
  }
  await ensureDir(rootfs, step.cwd, {}).catch((err: unknown) => {
    throw new InvalidArgumentError(`failed to create working directory ${step.cwd}: ${(err as Error).message}`);
  });
  return { user, stubs };
}

/**
 * Removes the mount points the runtime created that are still empty (a directory without entries,
 * a file without bytes), deepest first, keeping their parents' times (BuildKit's
 * `MountStubsCleaner`). A stub whose path now passes through a symlink (the step replaced a parent)
 * is left alone: removing through it could reach outside the rootfs.
 */
async function removeStubs(rootfs: string, stubs: readonly string[]): Promise<void> {
  for (const rel of stubs) {
    if (!plainPath(rootfs, rel)) continue;
    const abs = path.join(rootfs, rel);
    const info = lstatNow(abs);
    if (!info) continue;
    const empty = info.isDirectory() ? readdirSync(abs).length === 0 : info.isFile() && info.size === 0;
    if (!empty) continue;
    const parent = path.dirname(abs);
    const times = statSync(parent);
    if (info.isDirectory()) rmdirSync(abs);
    else unlinkSync(abs);
    utimesSync(parent, times.atime, times.mtime);
  }
}

/** True when every parent of `rel` inside `root` is a real directory (no symlink on the way). */
function plainPath(root: string, rel: string): boolean {
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i++) {
    const info = lstatNow(path.join(root, ...parts.slice(0, i)));
    if (!info?.isDirectory()) return false;
  }
  return true;
}

/** The container mounts and extra environment of the step's RUN --mount flags. */
async function runMounts(
  step: ExecStep,
  ctx: ExecContext,
  scratch: string,
): Promise<{ containerMounts: ContainerMount[]; env: string[]; locks: string[]; held: Release[] }> {
  const containerMounts: ContainerMount[] = [];
  const env: string[] = [];
  const locks: string[] = [];
  const held: Release[] = [];
  // Heredoc scripts (`RUN <<EOF` with `#!`): /dev is a tmpfs in the container, so bind them in.
  for (const [i, file] of step.files.entries()) {
    const source = path.join(scratch, `script-${i}`);
    await writeFile(source, file.content, { mode: file.mode });
    containerMounts.push({ destination: file.path, type: 'bind', source, options: READ_ONLY_BIND });
  }
  // What was taken (cache locks, ssh forwards) is given back when a later mount fails.
  try {
    for (const [i, m] of step.mounts.entries()) {
      switch (m.type) {
        case 'tmpfs':
          containerMounts.push({
            destination: m.target,
            type: 'tmpfs',
            source: 'tmpfs',
            options: ['nosuid', 'nodev', ...(m.size === undefined ? [] : [`size=${m.size}`])],
          });
          break;
        case 'cache': {
          const shared = path.join(ctx.root, 'cache', Buffer.from(m.id).toString('base64url'));
          // locked: one RUN at a time uses the cache; private: a RUN that finds it busy gets its own.
          let dir = shared;
          if (m.sharing === 'locked') locks.push(shared);
          else if (m.sharing === 'private') {
            // Take the cache if it is free now; if another RUN has it, use a throwaway one.
            const release = await tryLock(shared);
            if (release) held.push(release);
            else dir = path.join(scratch, `cache-${i}`);
          }
          const fresh = !(await lstatIfExists(dir));
          await mkdir(dir, { recursive: true });
          // Its modification time is its last use, for `du` and `prune` (`cache/cache-mounts.ts`).
          if (!fresh) await utimes(dir, new Date(), new Date());
          if (fresh) {
            // A new cache starts as a copy of `from`'s `source` when given, else empty.
            if (m.from && m.from.kind !== 'context') await copyTree(await resolveInRoot(await stageDir(ctx, m.from), m.source), dir);
            await chown(dir, m.uid, m.gid);
            await chmod(dir, m.mode);
          }
          containerMounts.push({ destination: m.target, type: 'bind', source: dir, options: m.readonly ? READ_ONLY_BIND : ['bind', 'rw'] });
          break;
        }
        case 'bind': {
          const source = m.from.kind === 'context' ? await contextSource(ctx, m.source) : await resolveInRoot(await stageDir(ctx, m.from), m.source);
          const info = await statIfExists(source);
          if (!info) throw new NotFoundError(`mount source ${m.source} not found`);
          if (m.readonly) containerMounts.push({ destination: m.target, type: 'bind', source, options: READ_ONLY_BIND });
          else containerMounts.push(await discardedWrites(m.target, source, info.isDirectory(), path.join(scratch, `bind-${i}`)));
          break;
        }
        case 'secret': {
          const value = ctx.secrets?.[m.id];
          if (value === undefined) {
            if (m.required) throw new NotFoundError(`secret ${m.id}: not found`, { hint: `pass it with --secret id=${m.id},src=FILE` });
            break;
          }
          if (m.env) env.push(`${m.env}=${value.toString('utf8')}`);
          if (m.target) {
            const file = path.join(scratch, `secret-${i}`);
            await writeFile(file, value, { mode: m.mode });
            await chown(file, m.uid, m.gid);
            containerMounts.push({ destination: m.target, type: 'bind', source: file, options: READ_ONLY_BIND });
          }
          break;
        }
        case 'ssh': {
          // As in BuildKit, the step's first ssh mount names SSH_AUTH_SOCK, whether an agent is
          // behind it or not (an optional one without an agent is just not mounted).
          if (!env.some((e) => e.startsWith('SSH_AUTH_SOCK='))) env.push(`SSH_AUTH_SOCK=${m.target}`);
          const agent = ctx.sshAgents?.[m.id];
          if (!agent) {
            if (m.required) {
              const flag = m.id === 'default' ? '--ssh default with SSH_AUTH_SOCK set' : `--ssh ${m.id}=SOCKET_OR_KEY`;
              throw new NotFoundError(`ssh agent ${m.id}: not found`, { hint: `pass ${flag}` });
            }
            break;
          }
          const forward = await forwardSshAgent(agent, m);
          held.push(forward.close);
          containerMounts.push({ destination: m.target, type: 'bind', source: forward.socket, options: ['bind'] });
          break;
        }
      }
    }
  } catch (err) {
    await Promise.all(held.map((release) => release()));
    throw err;
  }
  return { containerMounts, env, locks, held };
}

/** Runs `fn` holding the cache locks, in a fixed order so two RUNs never wait on each other in a cycle. */
async function withLocks<T>(dirs: readonly string[], fn: () => Promise<T>): Promise<T> {
  const [first, ...rest] = [...new Set(dirs)].sort();
  if (first === undefined) return fn();
  return withFileLock(first, () => withLocks(rest, fn), 24 * 60 * 60 * 1000);
}

async function copyTree(from: string, to: string): Promise<void> {
  try {
    await run('cp', ['-a', `${from}/.`, to]);
  } catch (err) {
    throw new NotFoundError(`cannot seed the cache from ${from}: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`);
  }
}

/**
 * A read-write bind, whose writes are discarded: a directory gets an overlay with a throwaway upper
 * dir (its lower named through a link in `work`, so no character of the source path can break the
 * overlay's options); a file is copied and the copy bound.
 */
async function discardedWrites(target: string, source: string, directory: boolean, work: string): Promise<ContainerMount> {
  await mkdir(work);
  if (!directory) {
    const copy = path.join(work, 'file');
    await copyFile(source, copy);
    return { destination: target, type: 'bind', source: copy, options: ['bind', 'rw'] };
  }
  for (const d of ['upper', 'work']) await mkdir(path.join(work, d));
  await symlink(source, path.join(work, 'lower'));
  return {
    destination: target,
    type: 'overlay',
    source: 'overlay',
    options: [`lowerdir=${path.join(work, 'lower')}`, `upperdir=${path.join(work, 'upper')}`, `workdir=${path.join(work, 'work')}`],
  };
}

async function contextSource(ctx: ExecContext, source: string): Promise<string> {
  if (!ctx.contextSource) throw new InvalidArgumentError('RUN --mount=type=bind needs a build context');
  return ctx.contextSource(source);
}

async function stageDir(ctx: ExecContext, from: Parameters<NonNullable<ExecContext['sourceDir']>>[0]): Promise<string> {
  if (!ctx.sourceDir) throw new UnsupportedError(`RUN --mount from=${from.kind === 'stage' ? from.name : from.ref} needs the solver`);
  return ctx.sourceDir(from);
}

/** Runs `fn` on the mounted directory; unmounts it when `fn` fails (the caller unmounts it otherwise). */
async function unmountingOnError<T>(mounted: Mounted, fn: (dir: string) => Promise<T>): Promise<T> {
  try {
    return await fn(mounted.dir);
  } catch (err) {
    await mounted.unmount();
    throw err;
  }
}
