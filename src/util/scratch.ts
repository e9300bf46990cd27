/**
 * Temporary work directories live in the state root (`<root>/tmp`), never in the system's temp dir:
 * mount points, bundles and half-made trees must be found again by the next tsbuild when this one
 * is killed. Each is named `<kind>-<owner>-<random>` (`util/owner.ts`), so whoever finds it can
 * tell whether its owner still runs (see `runtime/reclaim.ts`).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ownerTag } from './owner.js';

/** The directory holding a state root's temporary work. */
export function scratchRoot(root: string): string {
  return path.join(root, 'tmp');
}

/**
 * A new, empty, private directory `<root>/tmp/<kind>-<owner>-<random>`. Made with synchronous calls
 * (the state root is tsbuild's own): each step makes one, and while another step's layer is
 * written every thread-pool round trip waits for the event loop's next turn.
 */
export async function makeScratch(root: string, kind: string): Promise<string> {
  const base = scratchRoot(root);
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const dir = path.join(base, `${kind}-${ownerTag()}-${randomBytes(6).toString('hex')}`);
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}
