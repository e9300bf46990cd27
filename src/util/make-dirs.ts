/**
 * `mkdir -p` for paths users give (output destinations). Node's recursive mkdir retries forever
 * when a component can never be created but its parent exists (under /proc it gets ENOENT, not
 * EACCES): this walks up to the nearest existing directory and creates each missing one in turn,
 * so any failure is reported once.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { lstatIfExists } from './absent.js';

export async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const stat = await lstatIfExists(current);
    if (stat) break;
    missing.unshift(current);
    if (path.dirname(current) === current) break;
  }
  for (const d of missing) {
    await mkdir(d).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
}

/** Creates the state root (a path users give with --root) up front, failing in one line. */
export async function prepareStateRoot(root: string): Promise<void> {
  await makeDirs(root).catch((err: NodeJS.ErrnoException) => {
    throw new InvalidArgumentError(`cannot use the state root ${root}: ${err.code ?? err.message}`, {
      hint: 'give a writable directory with --root or TSBUILD_ROOT',
    });
  });
}
