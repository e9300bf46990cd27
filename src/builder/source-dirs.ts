/**
 * Read-only views of other stages (and images) for `COPY --from` and `RUN --mount from=`: each is
 * mounted once per build in a private directory and unmounted when the build ends (a one-layer
 * view needs no mount: its directory is used as it is; `RUN --mount` binds it read-only, and a
 * read-write bind gets a throwaway overlay on top).
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { directSource, mountAll, removeTree, unmountAll } from '../runtime/mount.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import { ownerTag } from '../util/owner.js';
import { makeScratch } from '../util/scratch.js';

export class SourceViews {
  private readonly views = new Map<string, Promise<string>>();
  private readonly keys: string[] = [];
  private readonly mounted: string[] = [];
  private dir: string | undefined;
  private count = 0;

  constructor(
    private readonly snapshotter: Snapshotter,
    private readonly root: string,
  ) {}

  /** A directory showing the committed snapshot `name` (an empty one for none). */
  async dirFor(name: string | undefined): Promise<string> {
    const id = name ?? '';
    let view = this.views.get(id);
    if (!view) {
      // The slot is taken now, before any await, so concurrent views never share a directory.
      view = this.mount(name, this.count++);
      this.views.set(id, view);
    }
    return view;
  }

  private dirReady: Promise<string> | undefined;

  private async mount(name: string | undefined, slot: number): Promise<string> {
    this.dirReady ??= makeScratch(this.root, 'views');
    this.dir = await this.dirReady;
    const target = path.join(this.dir, String(slot));
    await mkdir(target);
    if (name === undefined) return target;
    const key = `view-${ownerTag()}-${randomBytes(8).toString('hex')}`;
    this.keys.push(key);
    const mounts = await this.snapshotter.view(key, name);
    // A one-layer view is that layer's directory: read in place, nothing to mount.
    const direct = directSource(mounts);
    if (direct !== undefined) return direct;
    await mountAll(mounts, target);
    this.mounted.push(target);
    return target;
  }

  /** Unmounts every view and removes the views' snapshots and directories. */
  async close(): Promise<void> {
    // A view that failed to mount failed the step that asked for it; only cleanup is left here.
    await Promise.all([...this.views.values()].map((view) => view.catch(() => undefined)));
    // removeTree below unmounts what this left, or fails saying what is still mounted.
    await unmountAll(this.mounted).catch(() => undefined);
    if (this.dir) await removeTree(this.dir);
    for (const key of this.keys) await this.snapshotter.remove(key);
  }
}
