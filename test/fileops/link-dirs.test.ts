import { chmodSync, chownSync, lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { adoptExistingDirs } from '../../src/fileops/link-dirs.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-link-dirs-');

describe.skipIf(!isRoot)('COPY --link trees take the parent directories’ metadata (as BuildKit)', () => {
  it('gives directories the parent has its mode and owner, and leaves new ones and files alone', () => {
    const parent = tempDir();
    mkdirSync(path.join(parent, 'tmp'));
    chmodSync(path.join(parent, 'tmp'), 0o1777);
    mkdirSync(path.join(parent, 'root'));
    chmodSync(path.join(parent, 'root'), 0o700);
    mkdirSync(path.join(parent, 'home', 'app'), { recursive: true });
    chownSync(path.join(parent, 'home', 'app'), 1000, 1000);
    writeFileSync(path.join(parent, 'file-here'), '');
    const tree = tempDir();
    for (const dir of ['tmp', 'root/sub', 'home/app/new', 'file-here', 'fresh']) mkdirSync(path.join(tree, dir), { recursive: true });
    writeFileSync(path.join(tree, 'tmp', 'f'), 'f');
    adoptExistingDirs(tree, parent);
    const meta = (rel: string): string => {
      const s = lstatSync(path.join(tree, rel));
      return `${rel} ${(s.mode & 0o7777).toString(8)} ${s.uid}:${s.gid}`;
    };
    expect(['tmp', 'tmp/f', 'root', 'root/sub', 'home', 'home/app', 'home/app/new', 'file-here', 'fresh'].map(meta)).toEqual([
      'tmp 1777 0:0',
      'tmp/f 644 0:0',
      'root 700 0:0',
      'root/sub 755 0:0',
      'home 755 0:0',
      'home/app 755 1000:1000',
      'home/app/new 755 0:0',
      // A directory where the parent has a file: the merge replaces the file, nothing to adopt.
      'file-here 755 0:0',
      'fresh 755 0:0',
    ]);
  });
});
