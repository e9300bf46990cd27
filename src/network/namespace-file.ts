/**
 * A network namespace kept alive by a file: `unshare --net=FILE` creates the namespace and
 * bind-mounts its nsfs handle on FILE, so no process has to stay in it. runc joins it through the
 * file (`linux.namespaces[].path`), slirp4netns attaches to it the same way.
 *
 * The file lives in a scratch directory of the state root named with the owner tag
 * (`netns-<owner>-<random>`, `util/scratch.ts`): when tsbuild is killed, the next one's reclaim
 * unmounts everything below a dead owner's scratch directory before removing it, and the
 * namespace goes with its last reference. Node has no unshare(2) or mount(2), so util-linux's
 * tools do the work, through the tool runner's helper shell.
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FailedPreconditionError, UnavailableError } from '../errors.js';
import { makeScratch } from '../util/scratch.js';
import { missingTool, runTool } from '../util/tool-runner.js';

/** A namespace bound to `<dir>/ns`. */
export interface NamespaceFile {
  /** The scratch directory holding the namespace file and its helper's log. */
  readonly dir: string;
  /** The namespace file to give runc. */
  readonly path: string;
}

/** Creates a namespace in a new scratch directory of `root`. Nothing is left behind when it fails. */
export async function createNamespaceFile(root: string): Promise<NamespaceFile> {
  const dir = await makeScratch(root, 'netns');
  const file = path.join(dir, 'ns');
  try {
    // The bind mount needs an existing file as its mount point.
    await writeFile(file, '', { mode: 0o444 });
    const { code, stderr } = await runTool('unshare', [`--net=${file}`, 'true']);
    if (code === 127) throw missingTool('unshare');
    if (code !== 0) {
      throw new FailedPreconditionError(`cannot create a network namespace: ${stderr.trim() || `exit status ${code}`}`, {
        hint: 'RUN namespaces need root (CAP_SYS_ADMIN) and util-linux’s unshare',
      });
    }
    return { dir, path: file };
  } catch (err) {
    // The error that stopped the set-up is the one to report; what stays is the reclaim's.
    await removeNamespaceFile({ dir, path: file }).catch(() => undefined);
    throw err;
  }
}

/**
 * Unmounts the namespace file and removes its directory. The namespace itself ends when nothing
 * else holds it (a container still running in it, a helper not yet gone).
 */
export async function removeNamespaceFile(ns: NamespaceFile): Promise<void> {
  const { code, stderr } = await runTool('umount', [ns.path]);
  // "not mounted" (never bound, or unmounted already) is what removal wants; anything else stays
  // for the reclaim, which retries, rather than deleting the directory with a mount below it.
  if (code !== 0 && !/not mounted|no mount point|No such file/i.test(stderr)) {
    throw new UnavailableError(`cannot unmount network namespace ${ns.path}: ${stderr.trim() || `exit status ${code}`}`);
  }
  await rm(ns.dir, { recursive: true, force: true });
}
