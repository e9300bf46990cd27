/**
 * File-system errors at a destination the user named (an output, an archive, a cache directory)
 * are the user's to fix: one line naming what was being written, where, and the errno.
 */
import { InvalidArgumentError, TsbuildError } from '../errors.js';

export async function writingTo<T>(what: string, dest: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    const { code, path } = err as NodeJS.ErrnoException;
    if (err instanceof TsbuildError || typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) throw err;
    throw new InvalidArgumentError(`cannot write ${what} to ${dest}: ${code} on ${path ?? dest}`, { cause: err });
  }
}
