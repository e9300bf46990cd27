/**
 * Who owns a file, directory, mount or container that tsbuild leaves in the state root while it
 * works: a tag `<pid>.<start>` naming this process by its id and its start time (field 22 of
 * `/proc/<pid>/stat`, clock ticks since boot). A pid alone is not enough: after a crash the pid is
 * soon reused by an unrelated process, and what the dead tsbuild left would look alive forever.
 * Anything named with a tag whose process is gone (or runs with another start time) is stale, and
 * the next tsbuild reclaims it.
 */
import { readFileSync } from 'node:fs';

/** This process's tag, computed once. */
let self: string | undefined;

/** The tag of this process: `<pid>.<start>`. */
export function ownerTag(): string {
  self ??= `${process.pid}.${processStartTime(process.pid) ?? 0}`;
  return self;
}

/**
 * The start time of `pid` (clock ticks since boot), or undefined when no such process runs. A
 * zombie does not run: it has exited and waits for its parent to reap it, which an init that never
 * reaps (a container's first process that is not an init) does not do. Such a tsbuild holds no
 * lock, mount or container any more, and what it left must be reclaimed.
 */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Field 3, the state: Z (zombie) or X (dead).
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return fields[19];
}

/**
 * The owner tag in a name of the form `<word>-<tag>-<anything>` (`exec-1234.5678-9af0` →
 * `1234.5678`), the shape of every scratch directory, active snapshot key, runc container and
 * ingest file tsbuild makes; undefined for any other name.
 */
export function ownerIn(name: string): string | undefined {
  return /^[a-z][a-z0-9]*-(\d+(?:\.\d+)?)(?:-|$)/.exec(name)?.[1];
}

/**
 * True while the process a tag names still runs. A bare pid (names written before tags had start
 * times) counts as alive while any process has that id: never reclaim what might be in use.
 */
export function ownerAlive(tag: string): boolean {
  const [pid, start] = tag.split('.');
  if (!pid || !/^\d+$/.test(pid)) return false;
  if (Number(pid) === process.pid) return start === undefined || tag === ownerTag();
  const actual = processStartTime(Number(pid));
  if (actual === undefined) return false;
  return start === undefined || actual === start;
}
