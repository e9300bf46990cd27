/**
 * ADD's local-archive extraction. A source is an archive when it is a regular file whose bytes are
 * gzip, bzip2, xz, zstd or nothing (plain tar) and whose first tar header reads; the file name does
 * not matter, and anything else is copied as an ordinary file (ADD never "just gunzips").
 * Extraction unions with what exists, like `tar -x`: names are cleaned, entries escaping the
 * destination are refused, symlinks on the way (the image's or the archive's own, like
 * `lib -> usr/lib` then `lib/x`) are resolved inside the destination directory, implied parents
 * are created 0755, owners come from the headers unless `--chown`, directory times are set last.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { lstat, open, utimes } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { detectCompression, gunzip, type Compression } from '../archive/compression.js';
import { cleanEntryName, cleanLinkTarget, PathEscapeError } from '../archive/safe-path.js';
import { readTar } from '../archive/tar.js';
import { writeEntry } from '../archive/write-entry.js';
import { FailedPreconditionError, InvalidArgumentError } from '../errors.js';
import { ensureDir } from './copy.js';
import { resolveForExtraction } from './resolve.js';
import { lstatIfExists } from '../util/absent.js';
import { missingTool } from '../util/tool-runner.js';

/** The compression of a file, from its first bytes. */
export async function sniffCompression(file: string): Promise<Compression> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(6);
    const { bytesRead } = await handle.read(head, 0, 6, 0);
    return detectCompression(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** The decompressed bytes of `file` (external `bzip2`/`xz`/`zstd` for the formats zlib lacks). */
export function decompressed(file: string, compression: Compression): Readable {
  if (compression === 'none') return createReadStream(file);
  if (compression === 'gzip') return createReadStream(file).pipe(gunzip());
  const program = { bzip2: 'bzip2', xz: 'xz', zstd: 'zstd' }[compression];
  const child = spawn(program, ['-dc', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new PassThrough();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.on('error', (err: NodeJS.ErrnoException) =>
    out.destroy(
      err.code === 'ENOENT'
        ? missingTool(program, { purpose: `ADD extracts ${compression} archives with it` })
        : new FailedPreconditionError(`cannot run ${program}: ${err.message}`),
    ),
  );
  child.on('close', (code) => {
    if (code !== 0) out.destroy(new InvalidArgumentError(`${program} could not decompress ${path.basename(file)}: ${stderr.trim()}`));
  });
  child.stdout.pipe(out);
  return out;
}

/**
 * Extracts `file` into directory `dest` (absolute inside `rootfs`) if it is an archive.
 * Resolves to false, having written nothing, when it is not.
 */
export async function extractArchive(
  file: string,
  rootfs: string,
  dest: string,
  options: { owner?: { uid: number; gid: number } } = {},
): Promise<boolean> {
  const info = await lstat(file);
  if (!info.isFile()) return false;
  const entries = readTar(decompressed(file, await sniffCompression(file)));
  let first: Awaited<ReturnType<typeof entries.next>>;
  try {
    first = await entries.next();
  } catch {
    return false;
  }
  if (first.done) return false;
  const destDir = await ensureDir(rootfs, dest, { ...(options.owner ? { chown: options.owner } : {}) });
  // From here on the destination directory is the root, as BuildKit extracts (go-archive with the
  // destination as its os.Root): symlinks met on the way, the archive's own or the image's, are
  // followed inside it; an absolute target starts again at it; a relative one climbing out is refused.
  const within = (entry: string, name: string): Promise<string[]> =>
    resolveForExtraction(destDir, name, (link) => {
      throw new PathEscapeError(entry, `the symlink "${link}" leads out of the destination`);
    });
  const dirTimes: Array<[string, Date]> = [];
  let result: IteratorResult<(typeof first)['value']> = first;
  for (; !result.done; result = await entries.next()) {
    const { header, body } = result.value;
    const name = cleanEntryName(header.name);
    if (name === '') {
      body.resume();
      continue;
    }
    const targetParts = await within(header.name, name);
    // Parents the archive implies but does not list: 0755, root-owned (not --chown), as go-archive.
    await ensureDir(destDir, `/${targetParts.slice(0, -1).join('/')}`, {});
    const target = path.join(destDir, ...targetParts);
    let linkSource: string | undefined;
    if (header.type === 'link') {
      const source = path.join(destDir, ...(await within(header.name, cleanLinkTarget(header.name, header.linkname ?? ''))));
      const stat = await lstatIfExists(source);
      if (!stat || stat.isDirectory())
        throw new PathEscapeError(header.name, `its hard link target "${header.linkname}" does not exist in the destination`);
      linkSource = source;
    }
    await writeEntry(target, header, body, { ...(linkSource ? { linkSource } : {}), ...(options.owner ? { owner: options.owner } : {}) });
    if (header.type === 'directory') dirTimes.push([target, header.mtime]);
  }
  for (const [dir, mtime] of dirTimes.reverse()) await utimes(dir, mtime, mtime);
  return true;
}
