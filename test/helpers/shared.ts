/** Paths to the shared conformance data, which tests read in place (never copied into the repo). */
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The project root. */
export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

/** A path under `../shared/` beside the project root. */
export function sharedPath(...parts: string[]): string {
  return path.join(projectRoot, '..', 'shared', ...parts);
}

/** A path under the project's `fixtures/`. */
export function fixturePath(...parts: string[]): string {
  return path.join(projectRoot, 'fixtures', ...parts);
}
