/**
 * Writing the id maps of a user namespace another process made: `newuidmap PID 0 UID 1 1 START
 * COUNT` (and `newgidmap` alike) maps the user's own id to 0 and the first subordinate range to
 * 1…COUNT. tsbuild runs the two setuid (or file-capability) helpers itself from outside the
 * namespace, as rootlesskit and podman do, instead of leaving them to `unshare --map-users`:
 * util-linux's `unshare` forks a helper for that which waits on an eventfd for a signal that never
 * comes when unshare(2) is refused (Docker's default seccomp profile), so the helper outlived the
 * command and held its pipes open. Here nothing waits on anything that can fail to happen, and a
 * refused map is the helper's own message.
 */
import { execFile } from 'node:child_process';
import { FailedPreconditionError } from '../errors.js';
import type { IdRange } from './id-ranges.js';

/** How long one helper may take (they take milliseconds). */
const HELPER_TIMEOUT_MS = 10_000;

/** Whose ids become 0 inside, and which ranges become 1…COUNT. */
export interface IdMaps {
  uid: number;
  gid: number;
  uids: IdRange;
  gids: IdRange;
}

/**
 * Maps the user namespace of process `pid`: uids first, then gids. Rejects with the helper's last
 * line of stderr (`newuidmap: write to uid_map failed: Operation not permitted`).
 */
export async function writeIdMaps(pid: number, maps: IdMaps, signal?: AbortSignal): Promise<void> {
  await runHelper('newuidmap', [String(pid), '0', String(maps.uid), '1', '1', String(maps.uids.start), String(maps.uids.count)], signal);
  await runHelper('newgidmap', [String(pid), '0', String(maps.gid), '1', '1', String(maps.gids.start), String(maps.gids.count)], signal);
}

function runHelper(program: string, args: string[], signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      program,
      args,
      { encoding: 'utf8', timeout: HELPER_TIMEOUT_MS, killSignal: 'SIGKILL', ...(signal ? { signal } : {}) },
      (err, _stdout, stderr) => {
        if (!err) return resolve();
        const said = stderr.trim().split('\n').filter(Boolean).at(-1);
        const code = (err as NodeJS.ErrnoException).code;
        const why = said ?? (typeof code === 'string' ? `${program}: ${code}` : `${program} failed (${err.message.split('\n')[0]})`);
        // The tool ran and refused (the ranges, its setuid bit): the machine's set-up, not a transient fault.
        reject(new FailedPreconditionError(why));
      },
    );
  });
}
