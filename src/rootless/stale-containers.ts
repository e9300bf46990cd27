/**
 * Containers a killed rootless build left running. Each rootless command has a user namespace of
 * its own, so the next one's `runc delete --force` (in `reclaimStale`) cannot signal a step of the
 * dead one that runs as another id than the user's own (`USER 1000` is a subordinate id on the
 * host): a sibling namespace has no capability over it. The command's outer process, in the host's
 * namespace, can: the user owns every namespace its builds made, and the kernel gives the owner
 * all capabilities in them. So before entering its namespace, a rootless command kills the init
 * process of each container whose owner tag (`util/owner.ts`) names a process that is gone; with
 * its pid namespace's init gone, the whole step goes, and the reclaim inside finds a stopped
 * container to delete. runc's `state.json` gives the pid and its start time, which must match, so
 * a reused pid is never signalled.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { namesIn } from '../util/absent.js';
import { ownerAlive, ownerIn, processStartTime } from '../util/owner.js';

/** Kills the containers of dead owners under the state root `root`; returns how many it signalled. */
export async function killStaleContainers(root: string): Promise<number> {
  const stateDir = path.join(root, 'runc', 'state');
  let killed = 0;
  for (const id of await namesIn(stateDir)) {
    const owner = ownerIn(id);
    if (owner === undefined || ownerAlive(owner)) continue;
    const state = await readFile(path.join(stateDir, id, 'state.json'), 'utf8')
      .then((text) => JSON.parse(text) as { init_process_pid?: unknown; init_process_start?: unknown })
      .catch(() => undefined); // no readable state: runc's own delete below still removes the container
    const pid = state?.init_process_pid;
    if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 1) continue;
    if (processStartTime(pid) !== String(state?.init_process_start)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // Gone meanwhile, or not ours to signal: the reclaim inside does what it can.
    }
  }
  return killed;
}
