/** What the network layer may leave in a state root: mounts, helper processes, scratch entries. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { mountsUnder } from '../../src/runtime/mount.js';

export interface Leftovers {
  mounts: string[];
  /** Processes whose command line names something in the state root (slirp4netns does). */
  processes: string[];
  /** Entries of `<root>/tmp`. */
  scratch: string[];
}

export async function leftovers(root: string): Promise<Leftovers> {
  let scratch: string[] = [];
  try {
    scratch = readdirSync(path.join(root, 'tmp'));
  } catch {
    // No tmp directory: nothing was ever made, or it was all removed.
  }
  return { mounts: await mountsUnder(root), processes: processesNaming(root), scratch };
}

export const NOTHING_LEFT: Leftovers = { mounts: [], processes: [], scratch: [] };

/** `pid command…` of every process whose arguments mention `text`. */
export function processesNaming(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (args.some((arg) => arg.includes(text))) found.push(`${pid} ${args.join(' ').trim()}`);
  }
  return found;
}

/** Polls `check` every 20 ms for up to `ms`; true once it held. */
export async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
