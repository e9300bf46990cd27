/** Temporary directories that tests remove after themselves. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';

/**
 * Returns a function making temp dirs that are removed after each test; `removalMs` bounds the
 * removal (vitest's hook timeout: raise it for tests that fill a state root with many builds).
 */
export function useTempDirs(prefix = 'tsbuild-test-', removalMs?: number): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }, removalMs);
  return () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}
