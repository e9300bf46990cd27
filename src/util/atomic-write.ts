/**
 * Replacing a small file atomically: write a private temporary file beside it, then rename over
 * it, so readers see the old content or the new, never a half-written file. Creating one the same
 * way links the temporary file into place instead, which fails when the file exists. The temporary
 * file is named after its writer (`util/private-sibling.ts`): one a kill leaves behind is
 * reclaimed. A full disk is one error naming the file.
 *
 * The calls are synchronous: these are small files (records, indexes, the checksum cache), written
 * while other steps run, and each thread-pool round trip would wait for the event loop's next turn
 * behind a layer being written. The temporary file is always new, so no write here can block on
 * what an input put in its place.
 */
import { linkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { diskFullError, isDiskFull } from './disk-full.js';
import { privateSibling } from './private-sibling.js';

/** Ways of putting the written temporary file in place. */
type Place = (tmp: string, file: string) => Promise<boolean>;

const replacing: Place = async (tmp, file) => {
  renameSync(tmp, file);
  return true;
};

/** A hard link never replaces: it fails with EEXIST when the file is there already. */
const creating: Place = async (tmp, file) => {
  let placed = true;
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    placed = false;
  }
  rmSync(tmp, { force: true });
  return placed;
};

export async function writeFileAtomic(file: string, content: string, mode?: number): Promise<void> {
  await writeVia(replacing, file, content, mode);
}

/**
 * Writes `file` whole, only if there is none (the first of several writers wins); returns whether
 * it was written.
 */
export async function createFileAtomic(file: string, content: string): Promise<boolean> {
  return writeVia(creating, file, content);
}

async function writeVia(place: Place, file: string, content: string, mode?: number): Promise<boolean> {
  // Private to this call: two writers in one process (parallel builds) must not share it.
  const tmp = privateSibling(file, 'tmp');
  try {
    writeFileSync(tmp, content, mode === undefined ? {} : { mode });
    return await place(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw isDiskFull(err) ? diskFullError(path.basename(file), path.dirname(file), err) : err;
  }
}
