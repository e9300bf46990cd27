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
import { CancelledError } from '../errors.js';
import { missingTool } from '../util/tool-runner.js';
import type { IdRange } from './id-ranges.js';
import { ROOTLESS_TOOLS } from './preflight.js';

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
 * Maps the user namespace of process `pid`: uids first, then gids. Resolves to undefined once both
 * maps are written, else to the refusal, the helper's last line of stderr (`newuidmap: write to
 * uid_map failed: Operation not permitted`), which the caller explains. Rejects only when a helper
 * cannot be run at all (not installed: that error names the tool and its package) or on abort.
 */
export async function writeIdMaps(pid: number, maps: IdMaps, signal?: AbortSignal): Promise<string | undefined> {
  const uids = [String(pid), '0', String(maps.uid), '1', '1', String(maps.uids.start), String(maps.uids.count)];
  const gids = [String(pid), '0', String(maps.gid), '1', '1', String(maps.gids.start), String(maps.gids.count)];
  return (await runHelper('newuidmap', uids, signal)) ?? (await runHelper('newgidmap', gids, signal));
}

/** Runs one helper; resolves to its refusal, or undefined when it mapped the ids. */
function runHelper(program: keyof typeof ROOTLESS_TOOLS, args: string[], signal?: AbortSignal): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    execFile(
      program,
      args,
      { encoding: 'utf8', timeout: HELPER_TIMEOUT_MS, killSignal: 'SIGKILL', ...(signal ? { signal } : {}) },
      (err, _stdout, stderr) => {
        if (!err) return resolve(undefined);
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return reject(missingTool(program, { purpose: ROOTLESS_TOOLS[program] }));
        if (signal?.aborted) return reject(new CancelledError('cancelled while mapping the ids', { cause: err }));
        const said = stderr.trim().split('\n').filter(Boolean).at(-1);
        resolve(said ?? (typeof code === 'string' ? `${program}: ${code}` : `${program} failed (${err.message.split('\n')[0]})`));
      },
    );
  });
}
