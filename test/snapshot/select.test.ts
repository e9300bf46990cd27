/**
 * Choosing the snapshotter of a state root with TSBUILD_SNAPSHOTTER: a new root takes the kind
 * named (when it mounts here) and records it; a root keeps the kind it started with; an unknown
 * name or a kind that cannot mount is one line saying so.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectSnapshotter } from '../../src/snapshot/select.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-select-');
const fuseAvailable = isRoot && existsSync('/usr/bin/fuse-overlayfs');

/** The message and hint of what `fn` rejects with. */
async function failure(fn: () => Promise<unknown>): Promise<[string, string | undefined]> {
  const err = (await fn().then(
    () => undefined,
    (e: unknown) => e,
  )) as { message: string; hint?: string } | undefined;
  return [err?.message ?? 'no error', err?.hint];
}

describe('TSBUILD_SNAPSHOTTER', () => {
  it.each([['copying', 'copying'], ...(fuseAvailable ? [['fuse-overlayfs', 'fuse-overlayfs']] : []), ...(isRoot ? [['overlay', 'overlay']] : [])])(
    '%s on a new root: that kind, recorded, no notice',
    async (value, kind) => {
      const root = tempDir();
      const notices: string[] = [];
      const snaps = await selectSnapshotter(root, (m) => notices.push(m), undefined, { TSBUILD_SNAPSHOTTER: value });
      expect([snaps.kind, readFileSync(path.join(root, 'snapshotter'), 'utf8'), notices]).toEqual([kind, `${kind}\n`, []]);
    },
  );

  it('an unknown kind', async () => {
    expect(await failure(() => selectSnapshotter(tempDir(), undefined, undefined, { TSBUILD_SNAPSHOTTER: 'zfs' }))).toEqual([
      'unknown TSBUILD_SNAPSHOTTER "zfs"',
      'use overlay, fuse-overlayfs or copying',
    ]);
  });

  it('a root that started with another kind keeps it', async () => {
    const root = tempDir();
    writeFileSync(path.join(root, 'snapshotter'), 'copying\n');
    expect(await failure(() => selectSnapshotter(root, undefined, undefined, { TSBUILD_SNAPSHOTTER: 'fuse-overlayfs' }))).toEqual([
      `TSBUILD_SNAPSHOTTER=fuse-overlayfs, but the state root ${root} uses the copying snapshotter`,
      'a root keeps the kind it started with: give another --root, or unset TSBUILD_SNAPSHOTTER',
    ]);
    // The same kind is no conflict.
    expect((await selectSnapshotter(root, undefined, undefined, { TSBUILD_SNAPSHOTTER: 'copying' })).kind).toBe('copying');
  });

  it.skipIf(!isRoot)('fuse-overlayfs not installed: the package to install', async () => {
    // A PATH with setpriv and nothing else, as a machine without the package has.
    const bin = path.join(tempDir(), 'bin');
    mkdirSync(bin);
    symlinkSync('/usr/bin/setpriv', path.join(bin, 'setpriv'));
    const root = tempDir();
    const saved = process.env.PATH;
    process.env.PATH = bin;
    try {
      expect(await failure(() => selectSnapshotter(root, undefined, undefined, { TSBUILD_SNAPSHOTTER: 'fuse-overlayfs' }))).toEqual([
        `TSBUILD_SNAPSHOTTER=fuse-overlayfs: it does not mount under ${root}: fuse-overlayfs is not installed (not found on PATH)`,
        'the fuse-overlayfs snapshotter needs it: apt-get install fuse-overlayfs',
      ]);
    } finally {
      process.env.PATH = saved;
    }
    expect(existsSync(path.join(root, 'snapshotter'))).toBe(false);
  });
});
