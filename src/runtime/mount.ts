/**
 * Mounting `Mount` data onto directories. Node has no mount(2), so this is one of the two places
 * tsbuild runs tools for filesystem work (with `util/native.ts`): `mount` and `umount` from
 * util-linux, through `util/tool-runner.ts`; a fuse-overlayfs mount is its daemon, a child of this
 * process (`util/fuse-overlayfs.ts`).
 */
import { readFileSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { UnavailableError } from '../errors.js';
import type { Mount } from '../snapshot/snapshotter.js';
import { mountFuseOverlay } from '../util/fuse-overlayfs.js';
import { runTool, runToolChecked } from '../util/tool-runner.js';

async function sh(program: string, args: string[]): Promise<void> {
  await runToolChecked(program, args, `${program} ${args.join(' ')}`);
}

/** Mounts `mounts` (stacked in order) on `target`. */
export async function mountAll(mounts: readonly Mount[], target: string): Promise<void> {
  const done: number[] = [];
  try {
    for (const [i, m] of mounts.entries()) {
      if (m.type === 'overlay') {
        await sh('mount', ['-t', 'overlay', m.source, '-o', m.options.join(','), target]);
      } else if (m.type === 'fuse-overlayfs') {
        // Unmounted like any other mount (umount ends the daemon).
        await mountFuseOverlay(m.options, target);
      } else {
        // Not recursive: a snapshot's directory shows only its own files, never a mount below it.
        await sh('mount', ['--bind', m.source, target]);
        if (m.options.includes('ro')) await sh('mount', ['-o', 'remount,bind,ro', target]);
      }
      done.push(i);
    }
  } catch (err) {
    // Undo what was mounted; the mount error is the one to report.
    for (const _ of done) await unmount(target).catch(() => undefined);
    throw err;
  }
}

/** Unmounts `target` and everything below it (lazily if busy). */
export async function unmount(target: string): Promise<void> {
  await unmountAll([target]);
}

/**
 * Unmounts each of `targets` and everything below them: one `umount` for all (a process start costs
 * 10 ms here), then one at a time, lazily if busy, for any that call left mounted.
 */
export async function unmountAll(targets: readonly string[]): Promise<void> {
  if (targets.length === 0) return;
  if ((await runTool('umount', ['-R', ...targets])).code !== 0) {
    // Without the mount table, try each target again (lazily): better than leaving one mounted.
    const left = new Set(await mountPoints().catch(() => [...targets]));
    for (const target of targets) if (left.has(target)) await sh('umount', ['-R', '-l', target]);
  }
}

/**
 * Runs `fn` on a directory showing `mounts`: mounted on `target` and unmounted afterwards whatever
 * happens, or, for a single read-write bind mount, its source itself (no mount needed: tsbuild's
 * own file work resolves paths inside the tree and never follows them onto the host). A read-only
 * view is mounted, so the kernel enforces it.
 */
export async function withMounted<T>(mounts: readonly Mount[], target: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const mounted = await mountedAt(mounts, target);
  try {
    return await fn(mounted.dir);
  } finally {
    await mounted.unmount();
  }
}

/** A directory showing some mounts, and the call that unmounts it (nothing for a bind's own source). */
export interface Mounted {
  dir: string;
  unmount(): Promise<void>;
}

/**
 * What `withMounted` does before and after its function, for a caller that goes on while the
 * unmount runs: unmounting an overlay writes its upper dir's data to disk (a `syncfs`: 0.6 s after
 * a RUN wrote 1.5 GiB).
 */
export async function mountedAt(mounts: readonly Mount[], target: string): Promise<Mounted> {
  const direct = directSource(mounts);
  if (direct !== undefined && !mounts[0]?.options.includes('ro')) return { dir: direct, unmount: async () => undefined };
  await mountAll(mounts, target);
  return { dir: target, unmount: () => unmount(target) };
}

/** The directory a single bind mount would show, which can be used in its place. */
export function directSource(mounts: readonly Mount[]): string | undefined {
  const [only, ...rest] = mounts;
  return only?.type === 'bind' && rest.length === 0 ? only.source : undefined;
}

/**
 * Removes the directory `dir` with everything in it, after unmounting whatever is mounted at or
 * below it (deepest first). A tree that still has a mount after that is not removed (removing it
 * would delete the mounted files, a snapshot's or the host's): that is an error.
 */
export async function removeTree(dir: string): Promise<void> {
  const points = await mountsUnder(dir);
  if (points.length > 0) {
    // Whatever could not be unmounted is found and reported just below.
    await unmountAll(points.sort((a, b) => b.length - a.length)).catch(() => undefined);
    const left = await mountsUnder(dir);
    if (left.length > 0) throw new UnavailableError(`cannot remove ${dir}: ${left[0]} is still mounted`);
  }
  await rm(dir, { recursive: true, force: true });
}

/**
 * `removeTree` for a directory of a few small files (a container's bundle): with nothing mounted
 * below it, removed in one synchronous call, not one thread-pool round trip per file, each waiting
 * for the event loop's next turn while another step's layer is written.
 */
export async function removeSmallTree(dir: string): Promise<void> {
  if ((await mountsUnder(dir)).length > 0) return removeTree(dir);
  rmSync(dir, { recursive: true, force: true });
}

/** Mount points at or below `prefix`, from /proc/self/mountinfo (for cleanup and tests). */
export async function mountsUnder(prefix: string): Promise<string[]> {
  return (await mountPoints()).filter((point) => point === prefix || point.startsWith(`${prefix}/`));
}

/** Every mount point of this process's mount namespace (read at once: a procfs file, never blocks). */
async function mountPoints(): Promise<string[]> {
  const info = readFileSync('/proc/self/mountinfo', 'utf8');
  return info.split('\n').map((line) => (line.split(' ')[4] ?? '').replace(/\\040/g, ' '));
}
