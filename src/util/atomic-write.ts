/**
 * Replacing a small file atomically: write a private temporary file beside it, then rename over
 * it, so readers see the old content or the new, never a half-written file. The temporary file is
 * named after its writer (`util/private-sibling.ts`): one a kill leaves behind is reclaimed. A full
 * disk is one error naming the file.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { diskFullError, isDiskFull } from './disk-full.js';
import { privateSibling } from './private-sibling.js';

export async function writeFileAtomic(file: string, content: string, mode?: number): Promise<void> {
  // Private to this call: two writers in one process (parallel builds) must not share it.
  const tmp = privateSibling(file, 'tmp');
  try {
    await writeFile(tmp, content, mode === undefined ? {} : { mode });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw isDiskFull(err) ? diskFullError(path.basename(file), path.dirname(file), err) : err;
  }
}
