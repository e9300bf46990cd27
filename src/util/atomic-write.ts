/**
 * Replacing a small file atomically: write a private temporary file beside it, then rename over
 * it, so readers see the old content or the new, never a half-written file.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';

export async function writeFileAtomic(file: string, content: string, mode?: number): Promise<void> {
  // Private to this call: two writers in one process (parallel builds) must not share it.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, content, mode === undefined ? {} : { mode });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
