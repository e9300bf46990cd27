/**
 * The build context as `RUN --mount=type=bind` (without `from`) sees it: only what `.dockerignore`
 * lets through, as in BuildKit. Without ignore rules the context directory is bound as it is;
 * with them, a filtered copy (`context/materialize.ts`) is made once per build, in a scratch
 * directory of the state root, on first use. Paths are resolved inside the tree, so a symlink in
 * the context never leads a bind onto the host.
 */
import path from 'node:path';
import type { BuildContext } from '../context/build-context.js';
import { materializeContext } from '../context/materialize.js';
import { resolveInRoot } from '../fileops/resolve.js';
import { removeTree } from '../runtime/mount.js';
import { makeScratch } from '../util/scratch.js';

export class ContextViews {
  private tree: Promise<string> | undefined;
  private made: string | undefined;

  constructor(
    private readonly context: BuildContext,
    private readonly root: string,
  ) {}

  /** The host path showing `source`, a path inside the context. */
  async pathFor(source: string, signal?: AbortSignal): Promise<string> {
    return resolveInRoot(await this.treeRoot(signal), source);
  }

  private treeRoot(signal?: AbortSignal): Promise<string> {
    // Absolute: a bind's source is read by runc from its bundle directory, where a relative `.` is not the context.
    if (!this.context.ignore) return Promise.resolve(path.resolve(this.context.root));
    this.tree ??= (async () => {
      this.made = await makeScratch(this.root, 'context');
      await materializeContext(this.context, this.made, signal);
      return this.made;
    })();
    return this.tree;
  }

  /** Removes the filtered copy, if one was made. */
  async close(): Promise<void> {
    await this.tree?.catch(() => undefined); // a failed copy failed its step; only cleanup is left
    if (this.made) await removeTree(this.made);
  }
}
