/**
 * Temporary work directories live in the state root (`<root>/tmp`), never in the system's temp dir:
 * mount points, bundles and half-made trees must be found again by the next tsbuild when this one
 * is killed. Each is named `<kind>-<owner>-<random>` (`util/owner.ts`), so whoever finds it can
 * tell whether its owner still runs (see `runtime/reclaim.ts`).
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ownerTag } from './owner.js';

/** The directory holding a state root's temporary work. */
export function scratchRoot(root: string): string {
  return path.join(root, 'tmp');
}

/** A new, empty, private directory `<root>/tmp/<kind>-<owner>-<random>`. */
export async function makeScratch(root: string, kind: string): Promise<string> {
  const base = scratchRoot(root);
  await mkdir(base, { recursive: true, mode: 0o700 });
  const dir = path.join(base, `${kind}-${ownerTag()}-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { mode: 0o700 });
  return dir;
}
