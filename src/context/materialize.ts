/**
 * The build context as a directory that shows only what `.dockerignore` lets through, for what needs
 * a real tree rather than a filter (`RUN --mount=type=bind` of the context, which BuildKit serves
 * from its filtered copy of the context). Files are hard-linked where the filesystem allows (the
 * tree is only ever mounted read-only or as an overlay's lower layer, so nothing writes through the
 * links) and copied otherwise; directories, symlinks, modes, owners and times are kept.
 */
import { chmod, copyFile, lchown, link, lutimes, mkdir, readlink, symlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import { walkContext, type BuildContext } from './build-context.js';

/** Fills the empty directory `dest` with the included entries of the context. */
export async function materializeContext(ctx: BuildContext, dest: string, signal?: AbortSignal): Promise<void> {
  const dirs: Array<{ target: string; atime: Date; mtime: Date }> = [];
  for await (const { rel, stat } of walkContext(ctx)) {
    signal?.throwIfAborted();
    const source = path.join(ctx.root, rel);
    const target = path.join(dest, rel);
    if (stat.isDirectory()) {
      await mkdir(target);
      await chmod(target, stat.mode & 0o7777);
      dirs.push({ target, atime: stat.atime, mtime: stat.mtime });
    } else if (stat.isSymbolicLink()) {
      await symlink(await readlink(source), target);
      await lutimes(target, stat.atime, stat.mtime);
    } else if (stat.isFile()) {
      await link(source, target).catch(async () => {
        await copyFile(source, target);
        await utimes(target, stat.atime, stat.mtime);
      });
    } else {
      continue; // sockets, devices and fifos of a context are not part of it (BuildKit skips them too)
    }
    if (process.getuid?.() === 0) await lchown(target, stat.uid, stat.gid);
  }
  // Directory times last: adding their children changed them.
  for (const dir of dirs.reverse()) await utimes(dir.target, dir.atime, dir.mtime);
}
