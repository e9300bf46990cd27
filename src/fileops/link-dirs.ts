/**
 * `COPY --link` writes into an empty tree, which creates every directory on the way to the
 * destination afresh (0755, root). Merged onto the stage, BuildKit keeps the metadata of the
 * directories the stage already has (checked with Docker Engine 28.5: `COPY --link f /tmp/` leaves
 * `/tmp` 1777, and the layer's `tmp/` entry says so), taking only the new times. This gives the
 * link tree's directories the mode and owner of the same directories in the parent, before the
 * tree becomes a layer. Nothing below a directory the parent lacks can exist there, so the walk
 * stops at the first one.
 */
import { chmodSync, lchownSync, lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** For each directory of `tree` that is also a directory in `parent`, takes the parent's mode and owner. */
export function adoptExistingDirs(tree: string, parent: string, rel = ''): void {
  for (const name of readdirSync(path.join(tree, rel))) {
    const child = path.join(rel, name);
    const ours = lstatSync(path.join(tree, child));
    if (!ours.isDirectory()) continue;
    const theirs = lstatSync(path.join(parent, child), { throwIfNoEntry: false });
    if (!theirs?.isDirectory()) continue;
    lchownSync(path.join(tree, child), theirs.uid, theirs.gid);
    chmodSync(path.join(tree, child), theirs.mode & 0o7777);
    adoptExistingDirs(tree, parent, child);
  }
}
