/**
 * RUN: prepare a writable snapshot on the parent, run the step's process in it with runc, turn what
 * changed into a layer and commit the snapshot. The container sees the step's RUN mounts; the mount
 * points the runtime had to create are removed again, so they never reach the layer.
 */
import { chmod, chown, lstat, mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import type { ContentStore } from '../content/store.js';
import type { LayerResult } from '../diff/differ.js';
import { snapshotLayer } from '../diff/snapshot-changes.js';
import { InvalidArgumentError, NotFoundError, UnsupportedError } from '../errors.js';
import type { ExecStep, Mount as PlanMount } from '../plan/types.js';
import { ExecError } from '../runtime/exec-error.js';
import { withMounted } from '../runtime/mount.js';
import type { ContainerMount } from '../runtime/oci-spec.js';
import type { RuncRuntime } from '../runtime/runc.js';
import { resolveUser } from '../runtime/user.js';
import { tryLock, withFileLock, type Release } from '../util/file-lock.js';
import { withActiveSnapshot } from './active-snapshot.js';
import type { LayeredSnapshotter } from '../snapshot/layered.js';

const run = promisify(execFile);
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What running a RUN step needs from the build. */
export interface ExecContext {
  snapshotter: LayeredSnapshotter;
  runtime: RuncRuntime;
  store: ContentStore;
  /** The state root (cache mounts live under `<root>/cache`). */
  root: string;
  /** The build context directory, for bind mounts without `from`. */
  contextDir?: string;
  /** Directories of other stages or images, for `--mount from=`. */
  sourceDir?: (from: Exclude<Extract<PlanMount, { type: 'bind' }>['from'], { kind: 'context' }>) => Promise<string>;
  /** Secret values by id (`--secret id=…`). */
  secrets?: Readonly<Record<string, Buffer>>;
  /** The SSH agent socket to forward (`SSH_AUTH_SOCK`). */
  sshAgent?: string;
  sourceDateEpoch?: number;
  output?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void;
  signal?: AbortSignal;
}

/** Runs `step` on the committed snapshot `parent`; commits the result as `name`. */
export async function runExec(step: ExecStep, parent: string | undefined, name: string, ctx: ExecContext): Promise<LayerResult> {
  return withActiveSnapshot(ctx.snapshotter, parent, 'exec', async ({ key, mounts, scratch }) => {
    const rootfs = path.join(scratch, 'rootfs');
    await mkdir(rootfs);
    // The rootfs is mounted once: prepared here, then handed to runc as it is.
    const { status, prepared } = await withMounted(mounts, rootfs, async (dir) => {
      const prepared = await prepareRootfs(step, dir);
      const { containerMounts, env, locks, held } = await runMounts(step, ctx, scratch);
      const status = await withLocks(locks, () =>
        ctx.runtime.run(
          { args: step.args, env: [...withPath(step.env), ...env, ...step.proxyEnv], cwd: step.cwd, user: prepared.user },
          {
            rootfs: dir,
            mounts: containerMounts,
            hostname: 'buildkitsandbox',
            network: step.network,
            security: step.security,
            ...(ctx.output ? { output: ctx.output } : {}),
            ...(ctx.signal ? { signal: ctx.signal } : {}),
          },
        ),
      ).finally(() => Promise.all(held.map((release) => release())));
      return { status, prepared };
    });
    if (status.exitCode !== 0) throw new ExecError(step.args, status.exitCode, status.signal, status.tail);
    const upper = await ctx.snapshotter.upperDir(key);
    const stubs = await removeStubs(upper, prepared.missing);
    const layer = await snapshotLayer(ctx.snapshotter, key, ctx.store, {
      mountStubs: stubs,
      ...(ctx.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: ctx.sourceDateEpoch }),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    await ctx.snapshotter.commit(name, key);
    return layer;
  });
}

/** PATH is added when the environment has none (BuildKit's default on Linux). */
function withPath(env: readonly string[]): string[] {
  return env.some((e) => e.startsWith('PATH=')) ? [...env] : [DEFAULT_PATH, ...env];
}

/**
 * With the rootfs mounted: resolve the user, create the working directory, and note which mount
 * points do not exist yet (the runtime will create them; they must not reach the layer).
 */
async function prepareRootfs(step: ExecStep, rootfs: string): Promise<{ user: ReturnType<typeof resolveUser>; missing: string[] }> {
  const read = (file: string): Promise<string> => readFile(path.join(rootfs, file), 'utf8').catch(() => '');
  const user = resolveUser(step.user, await read('etc/passwd'), await read('etc/group'));
  const points = [
    'proc',
    'dev',
    'sys',
    'etc/hosts',
    'etc/resolv.conf',
    'etc/hostname',
    ...step.mounts.flatMap((m) => ('target' in m && m.target ? [m.target.replace(/^\/+/, '')] : [])),
  ];
  const missing: string[] = [];
  for (const point of points) {
    const parts = point.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const partial = parts.slice(0, i).join('/');
      if (!missing.includes(partial) && !(await lstat(path.join(rootfs, partial)).catch(() => undefined))) missing.push(partial);
    }
  }
  await mkdir(path.join(rootfs, step.cwd), { recursive: true });
  return { user, missing };
}

/** Removes the mount points the runtime created (empty, and new in this run); returns them. */
async function removeStubs(upper: string, missing: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const stub of [...missing].sort().reverse()) {
    const abs = path.join(upper, stub);
    const stat = await lstat(abs).catch(() => undefined);
    if (!stat) continue;
    if (stat.isDirectory() && (await readdir(abs)).length === 0) await rmdir(abs);
    else if (stat.isFile() && stat.size === 0) await rm(abs);
    else continue;
    removed.push(stub);
  }
  return removed;
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
    containerMounts.push({ destination: file.path, type: 'bind', source, options: ['rbind', 'ro'] });
  }
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
        const fresh = !(await lstat(dir).catch(() => undefined));
        await mkdir(dir, { recursive: true });
        if (fresh) {
          // A new cache starts as a copy of `from`'s `source` when given, else empty.
          if (m.from && m.from.kind !== 'context') await copyTree(path.join(await stageDir(ctx, m.from), path.normalize(`/${m.source}`)), dir);
          await chown(dir, m.uid, m.gid);
          await chmod(dir, m.mode);
        }
        containerMounts.push({ destination: m.target, type: 'bind', source: dir, options: ['rbind', m.readonly ? 'ro' : 'rw'] });
        break;
      }
      case 'bind': {
        const base = m.from.kind === 'context' ? contextDir(ctx) : await stageDir(ctx, m.from);
        const source = path.join(base, path.normalize(`/${m.source}`));
        if (!(await lstat(source).catch(() => undefined))) throw new NotFoundError(`mount source ${m.source} not found`);
        if (m.readonly) {
          containerMounts.push({ destination: m.target, type: 'bind', source, options: ['rbind', 'ro'] });
        } else {
          // Writes to a read-write bind are discarded: an overlay with a throwaway upper dir.
          const upper = path.join(scratch, `bind-${i}`);
          await mkdir(path.join(upper, 'upper'), { recursive: true });
          await mkdir(path.join(upper, 'work'));
          containerMounts.push({
            destination: m.target,
            type: 'overlay',
            source: 'overlay',
            options: [`lowerdir=${source}`, `upperdir=${path.join(upper, 'upper')}`, `workdir=${path.join(upper, 'work')}`],
          });
        }
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
          containerMounts.push({ destination: m.target, type: 'bind', source: file, options: ['rbind', 'ro'] });
        }
        break;
      }
      case 'ssh': {
        if (!ctx.sshAgent) {
          if (m.required) throw new NotFoundError(`ssh agent ${m.id}: not found`, { hint: 'pass --ssh default with SSH_AUTH_SOCK set' });
          break;
        }
        containerMounts.push({ destination: m.target, type: 'bind', source: ctx.sshAgent, options: ['rbind'] });
        env.push(`SSH_AUTH_SOCK=${m.target}`);
        break;
      }
    }
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

function contextDir(ctx: ExecContext): string {
  if (!ctx.contextDir) throw new InvalidArgumentError('RUN --mount=type=bind needs a build context');
  return ctx.contextDir;
}

async function stageDir(ctx: ExecContext, from: Parameters<NonNullable<ExecContext['sourceDir']>>[0]): Promise<string> {
  if (!ctx.sourceDir) throw new UnsupportedError(`RUN --mount from=${from.kind === 'stage' ? from.name : from.ref} needs the solver`);
  return ctx.sourceDir(from);
}
