/**
 * What tsbuild does with one of its own state files that it cannot read (JSON cut short by a
 * crash or a full disk, a flipped byte, a shape it never writes): the store must keep working,
 * so the file is renamed out of the way, `<file>.corrupt-<time>`, kept for whoever wants to look at
 * it, and the caller goes on as if it held what could still be read (for a cache, nothing: a miss).
 * The user is told in one line (`Warn`), never with a stack trace.
 */
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { readTextIfExists, unlessAbsent } from './absent.js';

/** Receives one-line warnings (the CLI prints them as `warning: …`). */
export type Warn = (message: string) => void;

/** A `Warn` that drops warnings: for library callers that gave no progress sink. */
export const ignoreWarnings: Warn = () => undefined;

/**
 * Renames `file` to `<file>.corrupt-<time>`; resolves to the new name (without directory), or
 * undefined when the file was gone already (another process set it aside first).
 */
export async function setAside(file: string): Promise<string | undefined> {
  const aside = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const moved = await unlessAbsent(rename(file, aside).then(() => true));
  return moved ? path.basename(aside) : undefined;
}

/** `JSON.parse`, with its failure as a reason to show (`Unexpected end of JSON input`). */
export function parseJson(text: string): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** True for a plain JSON object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a small JSON file whose content `check` accepts. Absent: undefined. Unreadable as JSON, or
 * refused by `check`: set aside, `warn`ed about as `what` with `consequence` (`the steps run
 * again`), and undefined. `read` reads the text: `readOwnTextIfExists` for a file of the state
 * root (see there); the default for one in a directory an input names.
 */
export async function readJsonOrSetAside<T>(
  file: string,
  check: (value: unknown) => value is T,
  report: { what: string; consequence: string; warn: Warn },
  read: (file: string) => Promise<string | undefined> = readTextIfExists,
): Promise<T | undefined> {
  const text = await read(file);
  if (text === undefined) return undefined;
  const parsed = parseJson(text);
  if ('value' in parsed && check(parsed.value)) return parsed.value;
  const reason = 'error' in parsed ? parsed.error : 'not what tsbuild writes there';
  const aside = await setAside(file);
  report.warn(`${report.what} ${file} is corrupt (${reason})${aside ? `: set aside as ${aside}` : ''}; ${report.consequence}`);
  return undefined;
}
