/**
 * The commands that touch snapshots (`build`, `du`, `prune`) run, for an unprivileged user, inside
 * a user namespace (`rootless/relaunch.ts`): this process waits for that one and takes its exit
 * status. The others (pull, push, images, …) only read and write files the user owns and run
 * where they are, without the namespace's start-up cost.
 */
import type { CliContext } from './context.js';
import { loadLibrary } from './load-library.js';

/** True when the command ran in a user namespace (its status is in `context.exitCode`). */
export async function ranInUserNamespace(context: CliContext, root: string | undefined): Promise<boolean> {
  // Loaded when a command runs, not when the CLI starts (`--version`, `--help`).
  const { needsUserNamespace, runInUserNamespace } = await loadLibrary();
  if (!needsUserNamespace()) return false;
  context.exitCode = await runInUserNamespace({ signal: context.signal, ...(root ? { root } : {}) });
  return true;
}
