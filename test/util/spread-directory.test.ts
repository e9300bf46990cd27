/**
 * The `T` attribute on directories tsbuild makes to hold many new trees (`util/spread-directory.ts`),
 * read back with e2fsprogs' `lsattr`: set on ext4, and no failure on tmpfs, which refuses it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { makeSpreadingDirectory } from '../../src/util/spread-directory.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-spread-');
const shmDirs: string[] = [];
afterEach(() => {
  for (const dir of shmDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** `stat -f`'s name of the file system type: `ext2/ext3` for ext2, 3 and 4, `tmpfs`. */
function fileSystemOf(dir: string): string {
  return execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();
}

/** Whether `lsattr -d` shows the `T` attribute on `dir` (undefined: lsattr cannot read its attributes). */
function hasTopDirAttribute(dir: string): boolean | undefined {
  try {
    const flags = execFileSync('lsattr', ['-d', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(' ')[0] ?? '';
    return flags.includes('T');
  } catch {
    return undefined;
  }
}

const TMP_FS = fileSystemOf(os.tmpdir());
const SHM_FS = existsSync('/dev/shm') ? fileSystemOf('/dev/shm') : 'none';

const places = [
  { fs: 'ext2/ext3', parent: () => tempDir(), expected: true },
  { fs: 'tmpfs', parent: () => (shmDirs.push(mkdtempSync('/dev/shm/tsbuild-spread-')), shmDirs.at(-1) as string), expected: false },
];

describe('makeSpreadingDirectory', () => {
  for (const place of places) {
    it.runIf((place.fs === 'tmpfs' ? SHM_FS : TMP_FS) === place.fs)(
      `on ${place.fs}: a directory it creates, with its missing parents, has the attribute where the file system has it`,
      async () => {
        const dir = path.join(place.parent(), 'a', 'snapshots');
        await makeSpreadingDirectory(dir);
        expect(hasTopDirAttribute(dir)).toBe(place.expected);
        // The parents it made are plain directories.
        expect(hasTopDirAttribute(path.dirname(dir))).toBe(false);
      },
    );
  }

  it.runIf(TMP_FS === 'ext2/ext3')('leaves a directory that exists as it is', async () => {
    const dir = path.join(tempDir(), 'snapshots');
    mkdirSync(dir);
    await makeSpreadingDirectory(dir);
    expect(hasTopDirAttribute(dir)).toBe(false);
  });

  it.runIf(TMP_FS === 'ext2/ext3')(
    "a snapshotter's first snapshot makes its directory with the attribute; each snapshot is a directory in it",
    async () => {
      const root = path.join(tempDir(), 'snapshots');
      const snapshots = new OverlaySnapshotter(path.dirname(root));
      await snapshots.prepare('one');
      await snapshots.prepare('two');
      expect(hasTopDirAttribute(root)).toBe(true);
      expect(path.dirname(path.dirname(await snapshots.upperDir('two')))).toBe(root);
    },
  );
});
