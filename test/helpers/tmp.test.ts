/**
 * `useTempDirs` after a test that timed out: what the test left running in its directory (a runc
 * container in a state root's `runc/state`, a mount below it) is stopped and unmounted, and the
 * directory removed. The first test leaves them; the second, after the first's `afterEach`, looks.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mountsBelow } from './state-root.js';
import { useTempDirs } from './tmp.js';

const isRoot = process.getuid?.() === 0;

/** Whether `pid` runs: a zombie does not (the container's init is reaped by PID 1, whenever it gets to it). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
const hasRunc = spawnSync('sh', ['-c', 'command -v runc'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!isRoot || !hasRunc)('useTempDirs', () => {
  const tempDir = useTempDirs('tsbuild-tmp-helper-');
  const left = { dir: '', state: '', id: `tsbuild-tmp-helper-${process.pid}`, pid: 0 };

  it('lets a test leave a container running and a mount in its directory', () => {
    left.dir = tempDir();
    const bundle = path.join(left.dir, 'bundle');
    const rootfs = path.join(bundle, 'rootfs');
    mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
    copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
    symlinkSync('busybox', path.join(rootfs, 'bin', 'sleep'));
    expect(spawnSync('runc', ['spec'], { cwd: bundle }).status).toBe(0);
    const spec = JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8')) as {
      process: { terminal: boolean; args: string[] };
      root: { path: string; readonly: boolean };
    };
    spec.process.terminal = false;
    spec.process.args = ['/bin/sleep', '600'];
    spec.root = { path: rootfs, readonly: true };
    writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
    left.state = path.join(left.dir, 'root', 'runc', 'state');
    const run = spawnSync('runc', ['--root', left.state, 'run', '--detach', '--bundle', bundle, left.id], { stdio: 'ignore' });
    expect(run.status).toBe(0);
    const state = JSON.parse(spawnSync('runc', ['--root', left.state, 'state', left.id], { encoding: 'utf8' }).stdout) as {
      status: string;
      pid: number;
    };
    expect(state.status).toBe('running');
    left.pid = state.pid;
    const mountPoint = path.join(left.dir, 'root', 'tmp', 'exec-1', 'rootfs');
    mkdirSync(mountPoint, { recursive: true });
    expect(spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', mountPoint]).status).toBe(0);
    expect(mountsBelow(left.dir)).toEqual([mountPoint]);
  });

  it('stopped that container, unmounted and removed the directory after the test', () => {
    expect(left.pid).toBeGreaterThan(0);
    // Asked before anything runs runc on that state directory: runc makes its --root when missing.
    expect(existsSync(left.dir)).toBe(false);
    expect(running(left.pid)).toBe(false);
    expect(mountsBelow(left.dir)).toEqual([]);
  });
});
