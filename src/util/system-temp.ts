/**
 * The two directories tsbuild makes in the system's temp dir rather than in the state root: the
 * tool runner's output files (`util/tool-runner.ts`, made before any root is known) and the ssh
 * forwarder's socket (`ops/ssh-forward.ts`: a unix socket's path must stay under 108 bytes, and a
 * root's path may be long). A kill leaves them behind like a scratch directory, so they are named
 * like one, `tsbuild-<kind>-<owner>-<random>` (`util/owner.ts`), and the reclaim every command
 * starts with removes those whose owner is gone (`removeDeadSystemTemps`).
 *
 * The system temp dir is shared with other users: only directories (never links) owned by the user
 * running tsbuild are ever removed, and a new one is made with `mkdir`, which fails rather than
 * follows a name someone else made first.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { lstatIfExists, namesIn } from './absent.js';
import { ownerAlive, ownerTag } from './owner.js';

/** What a system temp directory is for. */
export type SystemTempKind = 'tools' | 'ssh';

const NAME = /^tsbuild-(?:tools|ssh)-(\d+\.\d+)-[0-9a-f]+$/;

/** A new private (0700) directory `<tmpdir>/tsbuild-<kind>-<owner>-<random>`. */
export function makeSystemTemp(kind: SystemTempKind): string {
  const dir = path.join(os.tmpdir(), `tsbuild-${kind}-${ownerTag()}-${randomBytes(6).toString('hex')}`);
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}

/**
 * Removes the system temp directories of tsbuild processes that no longer run, from `dir` (the
 * system temp dir); returns how many.
 */
export async function removeDeadSystemTemps(dir: string = os.tmpdir()): Promise<number> {
  const uid = process.getuid?.();
  let removed = 0;
  for (const name of await namesIn(dir)) {
    const owner = NAME.exec(name)?.[1];
    if (owner === undefined || ownerAlive(owner)) continue;
    const full = path.join(dir, name);
    const info = await lstatIfExists(full);
    if (!info?.isDirectory() || (uid !== undefined && info.uid !== uid)) continue;
    await rm(full, { recursive: true, force: true });
    removed++;
  }
  return removed;
}
