/**
 * A PATH that lacks one tool: every command of the system's directories linked into `dir`, but
 * `hidden`. Tests take a tool away this way without changing the machine, so each missing-tool
 * error is checked against the real code path that looks the tool up.
 */
import { mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';

/** The system's command directories, in PATH order. */
const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Fills `dir` (made when missing) with links to every system command but `hidden`; returns `dir`. */
export function pathWithout(dir: string, hidden: string): string {
  mkdirSync(dir, { recursive: true });
  for (const from of SYSTEM_DIRS) {
    let names: string[];
    try {
      names = readdirSync(from);
    } catch {
      continue; // a directory this machine lacks
    }
    for (const name of names) {
      if (name === hidden) continue;
      try {
        symlinkSync(path.join(from, name), path.join(dir, name));
      } catch {
        // the same name from an earlier directory wins, as on PATH
      }
    }
  }
  return dir;
}
