/**
 * Finding and reading the Dockerfile of a build, the one way both `build` and `--print-plan` do it:
 * the context must be a directory; the Dockerfile is `-f`'s path when given, else `Dockerfile` in
 * the context, else the lowercase `dockerfile` (as BuildKit falls back). Errors use BuildKit's
 * wording.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, NotFoundError, PermissionDeniedError } from '../errors.js';
import { statIfExists } from '../util/absent.js';

/** The Dockerfile that was read: its path and text. */
export interface DockerfileSource {
  file: string;
  text: string;
}

/**
 * Where `builder/context-input.ts` saves a Dockerfile read from stdin (`-f -`, or `-` without an
 * archive): a scratch directory of the state root. Messages call it `Dockerfile`, as BuildKit does.
 */
const STDIN_DOCKERFILE = /\/tmp\/context-[0-9.]+-[0-9a-f]+\/(?:stdin\/)?Dockerfile$/;

/** A path as the user would write it in a message: relative to the working directory when inside it. */
export function displayPath(file: string): string {
  if (STDIN_DOCKERFILE.test(file)) return 'Dockerfile';
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

export async function readDockerfile(context: string, dockerfile?: string, signal?: AbortSignal): Promise<DockerfileSource> {
  const contextStat = await statIfExists(context);
  if (!contextStat) throw new NotFoundError(`unable to prepare context: path "${context}" not found`);
  if (!contextStat.isDirectory()) {
    throw new InvalidArgumentError(`unable to prepare context: "${context}" is not a directory`, {
      hint: 'contexts are directories (tar and URL contexts are not supported)',
    });
  }
  const candidates = dockerfile !== undefined ? [dockerfile] : [path.join(context, 'Dockerfile'), path.join(context, 'dockerfile')];
  for (const file of candidates) {
    try {
      return { file, text: await readFile(file, { encoding: 'utf8', ...(signal ? { signal } : {}) }) };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      if (code === 'EISDIR') throw new InvalidArgumentError(`failed to read dockerfile: ${file} is a directory`);
      // Not a bug: a user (rootless, or in a container) who may not read it.
      if (code === 'EACCES') throw new PermissionDeniedError(`failed to read dockerfile: open ${file}: permission denied`);
      throw err;
    }
  }
  throw new NotFoundError(`failed to read dockerfile: open ${candidates[0]}: no such file or directory`, { hint: 'give its path with -f' });
}
