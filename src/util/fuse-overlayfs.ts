/**
 * fuse-overlayfs mounts that live no longer than this process. fuse-overlayfs is the overlay a
 * user namespace can mount where the kernel's overlayfs refuses (before Linux 5.11): a FUSE
 * daemon serving the merged tree. Left to itself it daemonizes, and a daemon outlives a killed
 * build: it is a process of the build's mount namespace, so it keeps that namespace, and every
 * mount in it, alive (checked: the daemon of a killed rootless command stays, mount and all). So
 * it runs in the foreground (`-f`) under `setpriv --pdeathsig SIGKILL`, as this process's child:
 * when tsbuild dies, SIGKILL included, each daemon gets SIGKILL, the namespace loses its last
 * process and the kernel drops its mounts. An unmount ends the daemon the ordinary way (the FUSE
 * connection closes). It runs in a session of its own, so a Ctrl-C reaches tsbuild, which then
 * unmounts, and not the daemon.
 */
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { FailedPreconditionError, UnavailableError } from '../errors.js';

/** How long the daemon may take to serve the mount (it takes milliseconds). */
const MOUNT_TIMEOUT_MS = 10_000;
const POLL_MS = 2;

/**
 * Mounts fuse-overlayfs with `options` (`lowerdir=…`, `upperdir=…`, `workdir=…`) on `target` and
 * resolves once the mount serves; rejects with the daemon's own last words when it cannot.
 */
export async function mountFuseOverlay(options: readonly string[], target: string): Promise<void> {
  const child = spawn('setpriv', ['--pdeathsig', 'SIGKILL', '--', 'fuse-overlayfs', '-f', '-o', options.join(','), target], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let said = '';
  const onData = (chunk: Buffer): void => void (said = (said + chunk.toString()).slice(-4000));
  child.stderr?.on('data', onData);
  let exited: { code: number | null; error?: Error } | undefined;
  child.once('exit', (code) => (exited ??= { code }));
  child.once('error', (error) => (exited ??= { code: null, error }));
  // Mounted when the target is another filesystem than its directory's (a stat the daemon answers).
  const below = (await stat(path.dirname(target))).dev;
  const deadline = Date.now() + MOUNT_TIMEOUT_MS;
  while (exited === undefined && (await stat(target)).dev === below) {
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new UnavailableError(`fuse-overlayfs did not mount ${target} within ${MOUNT_TIMEOUT_MS / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  if (exited !== undefined) throw failure(exited, said);
  // Serving now: it must not keep tsbuild running (its unmount, or tsbuild's death, ends it).
  child.stderr?.off('data', onData);
  child.stderr?.on('data', () => undefined);
  (child.stderr as { unref?: () => void } | null)?.unref?.();
  child.unref();
}

function failure(exited: { code: number | null; error?: Error }, said: string): Error {
  const last = said.trim().split('\n').filter(Boolean).at(-1) ?? '';
  // setpriv's words when the program is not there (exit status 127).
  if (exited.error || (exited.code === 127 && /failed to execute/.test(last))) {
    const missing = exited.error ? 'setpriv' : 'fuse-overlayfs';
    return new FailedPreconditionError(`${missing} is not installed (not found on PATH)`, {
      hint: `the fuse-overlayfs snapshotter needs it: apt-get install ${missing === 'setpriv' ? 'util-linux' : 'fuse-overlayfs'}`,
    });
  }
  return new UnavailableError(`fuse-overlayfs failed to mount (exit status ${exited.code ?? '?'}): ${last || 'no output'}`);
}
