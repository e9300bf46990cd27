/**
 * Writing one tar entry to disk: files, directories, symlinks, hard links, devices and FIFOs, with
 * owner, mode, mtime and xattrs from the header (or an owner override). Shared by the layer
 * applier and ADD's archive extraction, which differ only in how they find `target`.
 */
import { createWriteStream } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, rm, symlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { mknod, setXattr } from '../util/native.js';
import type { TarHeader } from './tar.js';

export interface WriteEntryOptions {
  /** For hard links: the existing file to link to (already resolved and checked by the caller). */
  linkSource?: string;
  /** Owner for every entry instead of the header's (ADD --chown). */
  owner?: { uid: number; gid: number };
}

/** Writes `header` at `target`, replacing what is there unless both are directories. */
export async function writeEntry(target: string, header: TarHeader, body: Readable, options: WriteEntryOptions = {}): Promise<void> {
  const existing = await lstat(target).catch(() => undefined);
  if (existing && !(existing.isDirectory() && header.type === 'directory')) await rm(target, { recursive: true, force: true });
  switch (header.type) {
    case 'directory':
      if (!existing?.isDirectory()) await mkdir(target, { mode: header.mode });
      body.resume();
      break;
    case 'file':
      await pipeline(body, createWriteStream(target, { mode: header.mode }));
      break;
    case 'symlink':
      body.resume();
      await symlink(header.linkname ?? '', target);
      break;
    case 'link':
      body.resume();
      await link(options.linkSource ?? '', target);
      // A hard link shares its target's inode: its own header carries no metadata to apply.
      return;
    case 'character-device':
    case 'block-device':
    case 'fifo':
      body.resume();
      await mknod(target, header.type === 'fifo' ? 'p' : header.type === 'block-device' ? 'b' : 'c', header.devmajor ?? 0, header.devminor ?? 0);
      break;
  }
  await lchown(target, options.owner?.uid ?? header.uid, options.owner?.gid ?? header.gid);
  if (header.type !== 'symlink') await chmod(target, header.mode);
  for (const [key, value] of Object.entries(header.xattrs ?? {})) await setXattr(target, key, value);
  if (header.type !== 'directory') await lutimes(target, header.mtime, header.mtime);
}
