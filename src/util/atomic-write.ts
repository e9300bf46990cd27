/**
 * Replacing a small file atomically: write a private temporary file beside it, then rename over
 * it, so readers see the old content or the new, never a half-written file.
 */
import { rename, writeFile } from 'node:fs/promises';

export async function writeFileAtomic(file: string, content: string, mode?: number): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content, mode === undefined ? {} : { mode });
  await rename(tmp, file);
}
