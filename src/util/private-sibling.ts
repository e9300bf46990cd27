/**
 * Private files written beside a file before being renamed or linked onto it (the temporary file of
 * an atomic write, the staged copy of a lock file). A kill between the write and the rename leaves
 * one behind, and nobody else would ever remove it: each is named `<file>.<purpose>-<owner>-<random>`
 * (`util/owner.ts`), so the next tsbuild can tell that its writer is gone and remove it
 * (`removeDeadSiblings`, run by the reclaim at the start of every command that writes the root).
 */
import { randomBytes } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { namesIn, unlessAbsent } from './absent.js';
import { ownerAlive, ownerTag } from './owner.js';

/** What a private sibling is for. */
export type SiblingPurpose = 'tmp' | 'lock';

/** `<file>.<purpose>-<owner>-<random>`. */
export function privateSibling(file: string, purpose: SiblingPurpose): string {
  return `${file}.${purpose}-${ownerTag()}-${randomBytes(4).toString('hex')}`;
}

/** The owner tag in a private sibling's name, or undefined for any other name. */
export function siblingOwner(name: string): string | undefined {
  return /\.(?:tmp|lock)-(\d+(?:\.\d+)?)-[0-9a-f]+$/.exec(name)?.[1];
}

/**
 * Removes the private siblings in `dir` whose writers no longer run; returns how many. `of`: only
 * the siblings of these files, where `dir` is not the root's but the user's (an output's directory
 * holds the user's files too, and a name that merely looks like a sibling is not tsbuild's to remove).
 */
export async function removeDeadSiblings(dir: string, of?: readonly string[]): Promise<number> {
  let removed = 0;
  for (const name of await namesIn(dir)) {
    if (of !== undefined && !of.some((file) => name.startsWith(`${file}.`))) continue;
    const owner = siblingOwner(name);
    if (owner === undefined || ownerAlive(owner)) continue;
    await unlessAbsent(unlink(path.join(dir, name)));
    removed++;
  }
  return removed;
}
