/**
 * Which private siblings `removeDeadSiblings` removes: only those named with the tag of a process
 * that is gone, and with `of`, only those of the named files (a user's directory, where a file
 * output is written, holds names that are not tsbuild's).
 */
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ownerTag } from '../../src/util/owner.js';
import { privateSibling, removeDeadSiblings, siblingOwner } from '../../src/util/private-sibling.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-private-sibling-');
/** A tag no process can have: pids stop at 2^22. */
const DEAD = '2147483647.1';
const LIVE = ownerTag();

const NAMES = [
  `out.tar.tmp-${DEAD}-00aa`,
  `out.tar.lock-${DEAD}-00bb`,
  `out.tar.tmp-${LIVE}-00cc`,
  `out.tarx.tmp-${DEAD}-00dd`,
  `index.json.tmp-${DEAD}-00ee`,
  'out.tar.tmp-0123456789ab',
  'out.tar',
];

describe('removeDeadSiblings', () => {
  it.each([
    {
      of: undefined,
      removed: 4,
      left: ['out.tar', `out.tar.tmp-${LIVE}-00cc`, 'out.tar.tmp-0123456789ab'],
    },
    {
      of: ['out.tar'],
      removed: 2,
      left: [`index.json.tmp-${DEAD}-00ee`, 'out.tar', `out.tar.tmp-${LIVE}-00cc`, 'out.tar.tmp-0123456789ab', `out.tarx.tmp-${DEAD}-00dd`],
    },
    {
      of: ['out.tar', 'index.json'],
      removed: 3,
      left: ['out.tar', `out.tar.tmp-${LIVE}-00cc`, 'out.tar.tmp-0123456789ab', `out.tarx.tmp-${DEAD}-00dd`],
    },
  ])('of $of: removes $removed', async ({ of, removed, left }) => {
    const dir = tempDir();
    for (const name of NAMES) writeFileSync(path.join(dir, name), '');
    expect(await removeDeadSiblings(dir, of)).toBe(removed);
    expect(readdirSync(dir).sort()).toEqual([...left].sort());
  });

  it('names a sibling after this process, which is alive', () => {
    const name = path.basename(privateSibling('/x/out.tar', 'tmp'));
    expect(name).toMatch(new RegExp(`^out\\.tar\\.tmp-${LIVE.replace('.', '\\.')}-[0-9a-f]{8}$`));
    expect(siblingOwner(name)).toBe(LIVE);
  });
});
