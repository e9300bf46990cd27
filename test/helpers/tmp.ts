/**
 * Temporary directories that tests remove after themselves. A test that timed out is left running
 * by vitest (nothing aborts its build), so its runc containers and mounts may still be in its
 * directory: they are stopped and unmounted first (`stopWhatRunsIn`), and nothing outlives the test.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, type Dirent } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { mountsBelow } from './state-root.js';

/**
 * Returns a function making temp dirs that are removed after each test; `removalMs` bounds the
 * removal (vitest's hook timeout: raise it for tests that fill a state root with many builds).
 */
export function useTempDirs(prefix = 'tsbuild-test-', removalMs?: number): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) {
      stopWhatRunsIn(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  }, removalMs);
  return () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}

/**
 * Removes the runc containers of every state root at most two levels below `dir` (`runc/state`,
 * where tsbuild keeps them) and unmounts what is mounted below `dir`, deepest first. A directory
 * at rest costs one read of the mount table and a few `readdir`s: runc runs only where a container
 * directory is left.
 */
export function stopWhatRunsIn(dir: string): void {
  for (const state of runcStateDirs(dir)) {
    for (const id of entries(state)) spawnSync('runc', ['--root', state, 'delete', '--force', id], { stdio: 'ignore' });
  }
  for (const point of mountsBelow(dir).sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', point], { stdio: 'ignore' });
}

/** `dir/runc/state`, `dir/*\/runc/state` and `dir/*\/*\/runc/state` where they exist. */
function runcStateDirs(dir: string): string[] {
  const found: string[] = [];
  const look = (at: string, depth: number): void => {
    if (entries(path.join(at, 'runc')).includes('state')) found.push(path.join(at, 'runc', 'state'));
    if (depth === 0) return;
    for (const entry of readdirOrEmpty(at)) if (entry.isDirectory() && entry.name !== 'runc') look(path.join(at, entry.name), depth - 1);
  };
  look(dir, 2);
  return found;
}

function readdirOrEmpty(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

const entries = (dir: string): string[] => readdirOrEmpty(dir).map((entry) => entry.name);
