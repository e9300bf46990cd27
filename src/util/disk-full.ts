/**
 * A full disk (or quota) is not a bug and not a stack trace: it is one line saying what was being
 * written and where, so the user knows which disk to free. Node reports it as a bare
 * `ENOSPC: no space left on device, write`, without the file; the writer that knows adds that.
 */
import { UnavailableError } from '../errors.js';

/** True for the errors that mean no space is left: ENOSPC, and EDQUOT (a quota). */
export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** The error for `cause` (a full disk) while writing `what` under `where`. */
export function diskFullError(what: string, where: string, cause: unknown): UnavailableError {
  const quota = (cause as NodeJS.ErrnoException).code === 'EDQUOT';
  return new UnavailableError(`no space left on device${quota ? ' (disk quota exceeded)' : ''} writing ${what} to ${where}`, { cause });
}
