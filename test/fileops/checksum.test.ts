/**
 * The content checksum of COPY sources: what it covers (names, types, modes, link targets,
 * contents, in name order, depth first) and what the stat cache saves. The digest of `a0` and `b/a`
 * in the fixed tree below is the one the recursive walk gave before the walk kept its own stack
 * (issue 17): a changed order or line would change every cache key users hold. That of `.` changed
 * once, when the context directory's own name and mode stopped counting (BuildKit gives such a
 * COPY CACHED from a copy of the context under another name or mode; tsbuild missed).
 */
import { chmodSync, mkdirSync, renameSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChecksumCache, checksumSources } from '../../src/fileops/checksum.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-checksum-');

const FILES: Record<string, string> = { a: 'x', 'a.b': 'y', 'B/c': 'z', 'a0/d/e': '', 'a0/d/f': 'f', 'a0/z': 'zz', 'b/a/b/c': 'deep' };

/** Names that sort differently by byte and by locale, a symlink, an empty directory, nesting four deep. */
function fixedTree(): string {
  const dir = tempDir();
  for (const [rel, body] of Object.entries(FILES)) {
    mkdirSync(path.join(dir, path.dirname(rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), body);
    chmodSync(path.join(dir, rel), 0o644);
  }
  chmodSync(path.join(dir, 'a.b'), 0o755);
  symlinkSync('../a', path.join(dir, 'a0/link'));
  mkdirSync(path.join(dir, 'empty'));
  for (const d of ['.', 'B', 'a0', 'a0/d', 'b', 'b/a', 'b/a/b', 'empty']) chmodSync(path.join(dir, d), 0o755);
  return dir;
}

describe('checksumSources', () => {
  it.each([
    [['.'], 'sha256:cb301ae9d52dd0ebe6ace6a23a57908c501fd22d7f9c94b99414d5a4a6a1467f'],
    [['a0', 'b/a'], 'sha256:f26c3777815e649a9d6a5d9c041f58c688161f0c29cf1501cf5c158dbb1f1690'],
  ])('%j of the fixed tree: %s', async (sources, digest) => {
    expect(await checksumSources({ root: fixedTree() }, sources)).toBe(digest);
  });

  it.each([0o755, 0o700, 0o775])('does not depend on the name nor the mode (%o) of the directory the tree is in', async (mode) => {
    const [one, two] = [fixedTree(), fixedTree()];
    // Moved into another temporary directory, which the test's clean-up removes with it.
    const renamed = path.join(tempDir(), 'another-name');
    renameSync(two, renamed);
    chmodSync(renamed, mode);
    expect(path.basename(one)).not.toBe(path.basename(renamed));
    expect(await checksumSources({ root: renamed }, ['.'])).toBe(await checksumSources({ root: one }, ['.']));
  });

  it('still counts the mode of a directory named as a source', async () => {
    const dir = fixedTree();
    const before = await checksumSources({ root: dir }, ['a0']);
    chmodSync(path.join(dir, 'a0'), 0o700);
    expect(await checksumSources({ root: dir }, ['a0'])).not.toBe(before);
  });

  it.each([
    ['a content', (dir: string) => writeFileSync(path.join(dir, 'a0/d/f'), 'g')],
    ['a mode', (dir: string) => chmodSync(path.join(dir, 'a0/z'), 0o600)],
    ['a link target', (dir: string) => symlinkSync('a', path.join(dir, 'B/new-link'))],
    ['a name', (dir: string) => writeFileSync(path.join(dir, 'b/a/b/d'), 'deep')],
  ])('changes with %s deep in the tree', async (_what, change) => {
    const dir = fixedTree();
    const before = await checksumSources({ root: dir }, ['.']);
    change(dir);
    expect(await checksumSources({ root: dir }, ['.'])).not.toBe(before);
  });

  it('ignores times, and reads no file again while their stat is unchanged; a changed file is read again', async () => {
    const dir = fixedTree();
    const cache = new ChecksumCache();
    const first = await checksumSources({ root: dir }, ['.'], { cache });
    const readFirst = cache.hashed;
    const again = await checksumSources({ root: dir }, ['.'], { cache });
    const readAgain = cache.hashed - readFirst;
    utimesSync(path.join(dir, 'a0/z'), new Date(1_000_000), new Date(1_000_000));
    const touched = await checksumSources({ root: dir }, ['.'], { cache });
    expect({ readFirst, readAgain, again, touched, readTouched: cache.hashed - readFirst }).toEqual({
      readFirst: Object.keys(FILES).length,
      readAgain: 0,
      again: first,
      touched: first,
      readTouched: 1,
    });
  });
});
