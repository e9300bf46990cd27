/**
 * Writing one tar entry to disk: files, directories, symlinks, hard links, devices and FIFOs, with
 * owner, mode, mtime and xattrs from the header (or an owner override). Shared by the layer
 * applier and ADD's archive extraction, which differ only in how they find `target`.
 */
import {
  chmodSync,
  closeSync,
  createWriteStream,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  writeSync,
} from 'node:fs';
import type { Stats } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { mknod, setXattr } from '../util/native.js';
import { SMALL_FILE } from '../util/time-slice.js';
import type { TarHeader } from './tar.js';

export interface WriteEntryOptions {
  /** For hard links: the existing file to link to (already resolved and checked by the caller). */
  linkSource?: string;
  /** Owner for every entry instead of the header's (ADD --chown). */
  owner?: { uid: number; gid: number };
  /** What is at `target` now, when the caller has just looked (`null`: nothing), saving a second lstat. */
  existing?: Stats | null;
}

/**
 * Writes `header` at `target`, replacing what is there unless both are directories. The calls are
 * synchronous (see `util/time-slice.ts`) except for a large file's bytes, which are streamed.
 */
export async function writeEntry(target: string, header: TarHeader, body: Readable, options: WriteEntryOptions = {}): Promise<void> {
  const existing = options.existing === undefined ? lstatSync(target, { throwIfNoEntry: false }) : (options.existing ?? undefined);
  if (existing && !(existing.isDirectory() && header.type === 'directory')) rmSync(target, { recursive: true, force: true });
  switch (header.type) {
    case 'directory':
      if (!existing?.isDirectory()) mkdirSync(target, { mode: header.mode });
      body.resume();
      break;
    case 'file':
      if ((header.size ?? 0) <= SMALL_FILE) writeSmallFile(target, header.mode, await bytesOf(body));
      else await pipeline(body, createWriteStream(target, { mode: header.mode }));
      break;
    case 'symlink':
      body.resume();
      symlinkSync(header.linkname ?? '', target);
      break;
    case 'link':
      body.resume();
      linkSync(options.linkSource ?? '', target);
      // A hard link shares its target's inode: its own header carries no metadata to apply.
      return;
    case 'character-device':
    case 'block-device':
    case 'fifo':
      body.resume();
      await mknod(target, header.type === 'fifo' ? 'p' : header.type === 'block-device' ? 'b' : 'c', header.devmajor ?? 0, header.devminor ?? 0);
      break;
  }
  lchownSync(target, options.owner?.uid ?? header.uid, options.owner?.gid ?? header.gid);
  if (header.type !== 'symlink') chmodSync(target, header.mode);
  for (const [key, value] of Object.entries(header.xattrs ?? {})) await setXattr(target, key, value);
  if (header.type !== 'directory') lutimesSync(target, header.mtime, header.mtime);
}

/** A small entry's bytes, whole. */
async function bytesOf(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}

function writeSmallFile(target: string, mode: number, data: Buffer): void {
  const fd = openSync(target, 'wx', mode & 0o777);
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
}
