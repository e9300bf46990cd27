/**
 * `RUN --mount=type=cache` directories (`<root>/cache/<id in base64url>`, made by `ops/exec-op.ts`)
 * as `du` lists and `prune --all` removes them, like `buildx du`'s `exec.cachemount` records. A
 * mount's last use is the directory's modification time, which the RUN sets when it mounts it.
 */
import { lstat, readdir, rm } from 'node:fs/promises';
import { lstatIfExists } from '../util/absent.js';
import path from 'node:path';

/** One cache mount: its id (as the Dockerfile names it), size on disk and last use. */
export interface CacheMountUsage {
  id: string;
  bytes: number;
  lastUsed: string;
}

const dirOf = (root: string): string => path.join(root, 'cache');

/** Every cache mount under the state root `root`, largest first. */
export async function listCacheMounts(root: string): Promise<CacheMountUsage[]> {
  const names = await readdir(dirOf(root)).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : Promise.reject(err)));
  const mounts: CacheMountUsage[] = [];
  // Lock files (`<name>.lock`, and their staged copies) sit beside the directories.
  for (const name of names.filter((n) => !n.includes('.'))) {
    const dir = path.join(dirOf(root), name);
    const info = await lstat(dir);
    if (!info.isDirectory()) continue;
    mounts.push({ id: Buffer.from(name, 'base64url').toString(), bytes: await treeBytes(dir), lastUsed: info.mtime.toISOString() });
  }
  return mounts.sort((a, b) => b.bytes - a.bytes || a.id.localeCompare(b.id));
}

/** Removes the cache mounts named; resolves to the bytes freed. */
export async function removeCacheMounts(root: string, mounts: readonly CacheMountUsage[]): Promise<number> {
  let bytes = 0;
  for (const mount of mounts) {
    await rm(path.join(dirOf(root), Buffer.from(mount.id).toString('base64url')), { recursive: true, force: true });
    bytes += mount.bytes;
  }
  return bytes;
}

/** The disk blocks a tree takes (as `du`), each inode counted once. */
async function treeBytes(dir: string): Promise<number> {
  const seen = new Set<number>();
  let bytes = 0;
  const entries = await readdir(dir, { recursive: true });
  for (const entry of ['', ...entries]) {
    const info = await lstatIfExists(path.join(dir, entry)); // a cache mount in use may lose entries meanwhile
    if (!info || seen.has(info.ino)) continue;
    seen.add(info.ino);
    bytes += info.blocks * 512;
  }
  return bytes;
}
