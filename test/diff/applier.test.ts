import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PathEscapeError } from '../../src/archive/safe-path.js';
import { applyLayer } from '../../src/diff/applier.js';
import { busyboxLayer, makeLayer } from '../helpers/oci-image.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-apply-');
const apply = (gz: Buffer, root: string, mode: 'overlay' | 'plain' = 'overlay') => applyLayer(Readable.from([gz]), root, { mode });

describe.skipIf(!isRoot)('applyLayer', () => {
  it('unpacks busybox with modes, owners, symlinks and times, and returns the diffID', async () => {
    const root = tempDir();
    const layer = await busyboxLayer();
    expect(await apply(layer.gz, root)).toBe(layer.diffId);
    expect(readdirSync(path.join(root, 'bin')).sort()).toEqual(['busybox', 'cat', 'echo', 'false', 'ls', 'sh', 'true']);
    expect(statSync(path.join(root, 'bin', 'busybox')).mode & 0o7777).toBe(0o755);
    expect(readlinkSync(path.join(root, 'bin', 'sh'))).toBe('busybox');
    expect(readFileSync(path.join(root, 'bin', 'busybox')).equals(readFileSync('/bin/busybox'))).toBe(true);
    expect(statSync(path.join(root, 'etc')).mtimeMs).toBe(0);
  });

  it('keeps owners, hard links and setuid bits', async () => {
    const root = tempDir();
    const layer = await makeLayer([
      { name: 'a', data: Buffer.from('same inode\n'), mode: 0o4755, uid: 1000, gid: 1001 },
      { name: 'b', type: 'link', linkname: 'a' },
    ]);
    await apply(layer.gz, root);
    const [a, b] = [statSync(path.join(root, 'a')), statSync(path.join(root, 'b'))];
    expect([a.ino === b.ino, a.nlink, a.uid, a.gid, a.mode & 0o7777]).toEqual([true, 2, 1000, 1001, 0o4755]);
  });

  it('turns OCI whiteouts into overlay whiteouts and opaque directories', async () => {
    const root = tempDir();
    const layer = await makeLayer([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/.wh.gone', data: Buffer.alloc(0) },
      { name: 'var/', type: 'directory' },
      { name: 'var/.wh..wh..opq', data: Buffer.alloc(0) },
      { name: 'var/fresh', data: Buffer.from('x') },
    ]);
    await apply(layer.gz, root);
    const whiteout = lstatSync(path.join(root, 'etc', 'gone'));
    expect([whiteout.isCharacterDevice(), whiteout.rdev]).toEqual([true, 0]);
    expect(execFileSync('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', path.join(root, 'var')], { encoding: 'utf8' })).toBe('y');
    expect(readdirSync(path.join(root, 'var'))).toEqual(['fresh']);
  });

  it('deletes for whiteouts in plain mode, keeping what the same layer added', async () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'etc'));
    mkdirSync(path.join(root, 'var'));
    writeFileSync(path.join(root, 'etc', 'gone'), 'old');
    writeFileSync(path.join(root, 'var', 'old'), 'old');
    const layer = await makeLayer([
      { name: 'etc/.wh.gone', data: Buffer.alloc(0) },
      { name: 'var/fresh', data: Buffer.from('x') },
      { name: 'var/.wh..wh..opq', data: Buffer.alloc(0) },
    ]);
    await apply(layer.gz, root, 'plain');
    expect([existsSync(path.join(root, 'etc', 'gone')), readdirSync(path.join(root, 'var'))]).toEqual([false, ['fresh']]);
  });

  it('in plain mode, recreates a directory an opaque marker removed after the layer had written below it', async () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'var', 'old'), { recursive: true });
    writeFileSync(path.join(root, 'var', 'old', 'f0'), 'old');
    const layer = await makeLayer([
      { name: 'var/old/f1', data: Buffer.from('1') },
      { name: 'var/.wh..wh..opq', data: Buffer.alloc(0) },
      { name: 'var/old/f2', data: Buffer.from('2') },
    ]);
    await apply(layer.gz, root, 'plain');
    expect(readdirSync(path.join(root, 'var', 'old'))).toEqual(['f2']);
  });

  it.each<[string, Parameters<typeof makeLayer>[0]]>([
    ['.. climbing out', [{ name: '../escaped', data: Buffer.from('pwned') }]],
    ['a deeper .. climbing out', [{ name: 'a/../../escaped', data: Buffer.from('pwned') }]],
    [
      'a symlink then a write through it',
      [
        { name: 'evil', type: 'symlink', linkname: '..' },
        { name: 'evil/escaped', data: Buffer.from('pwned') },
      ],
    ],
    ['a hard link to a file outside', [{ name: 'hl', type: 'link', linkname: '../outside-file' }]],
    // The applier remembers directories it checked; one replaced later must be checked again.
    [
      'a directory written into, then replaced by a symlink, then written through',
      [
        { name: 'd/', type: 'directory' },
        { name: 'd/sub/', type: 'directory' },
        { name: 'd/sub/ok', data: Buffer.from('fine') },
        { name: 'd', type: 'symlink', linkname: '..' },
        { name: 'd/escaped', data: Buffer.from('pwned') },
      ],
    ],
    [
      'a parent made for a file, then replaced by a symlink, then written through',
      [
        { name: 'p/q/file', data: Buffer.from('fine') },
        { name: 'p/q', type: 'symlink', linkname: '../..' },
        { name: 'p/q/escaped', data: Buffer.from('pwned') },
      ],
    ],
    [
      'a whited-out directory recreated as a symlink, then written through',
      [
        { name: 'w/inner/file', data: Buffer.from('fine') },
        { name: '.wh.w', data: Buffer.alloc(0) },
        { name: 'w', type: 'symlink', linkname: '..' },
        { name: 'w/escaped', data: Buffer.from('pwned') },
      ],
    ],
  ])('refuses %s and writes nothing outside', async (_name, entries) => {
    const parent = tempDir();
    const root = path.join(parent, 'root');
    mkdirSync(root);
    writeFileSync(path.join(parent, 'outside-file'), 'untouched');
    const before = readdirSync(parent).sort();
    const layer = await makeLayer(entries);
    await expect(apply(layer.gz, root)).rejects.toBeInstanceOf(PathEscapeError);
    expect(readdirSync(parent).sort()).toEqual(before);
    expect(readFileSync(path.join(parent, 'outside-file'), 'utf8')).toBe('untouched');
    expect(existsSync('/tmp/escaped')).toBe(false);
  });

  // As Docker Engine 28.5 applies layers (checked with images pulled by its BuildKit): the layer's
  // own symlinks are followed inside the root, a lower layer's are hidden by a directory.
  // Plain-mode rows start from a root whose lower layer has `lib64 -> /usr/lib64`.
  it.each<[string, Parameters<typeof makeLayer>[0], 'overlay' | 'plain', string[]]>([
    [
      'lib -> usr/lib then lib/x.so',
      [
        { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
        { name: 'usr/lib/', type: 'directory' },
        { name: 'lib/x.so', data: Buffer.from('x') },
      ],
      'overlay',
      ['lib -> usr/lib', 'usr/', 'usr/lib/', 'usr/lib/x.so'],
    ],
    [
      'an absolute symlink, inside the root',
      [
        { name: 'evil', type: 'symlink', linkname: '/tmp' },
        { name: 'evil/inside', data: Buffer.from('in') },
      ],
      'plain',
      ['evil -> /tmp', 'lib64 -> /usr/lib64', 'tmp/', 'tmp/inside', 'usr/', 'usr/lib64/', 'usr/lib64/keep'],
    ],
    [
      'a hard link whose target goes through its own symlink',
      [
        { name: 'lk', type: 'symlink', linkname: 'sub' },
        { name: 'sub/', type: 'directory' },
        { name: 'lk/f', data: Buffer.from('f') },
        { name: 'hard', type: 'link', linkname: 'lk/f' },
      ],
      'overlay',
      ['hard', 'lk -> sub', 'sub/', 'sub/f'],
    ],
    [
      'a path through a lower layer’s symlink (replaced by a directory)',
      [{ name: 'lib64/y.so', data: Buffer.from('y') }],
      'plain',
      ['lib64/', 'lib64/y.so', 'usr/', 'usr/lib64/', 'usr/lib64/keep'],
    ],
  ])('follows %s', async (_name, entries, mode, expected) => {
    const root = tempDir();
    if (mode === 'plain') {
      mkdirSync(path.join(root, 'usr', 'lib64'), { recursive: true });
      writeFileSync(path.join(root, 'usr', 'lib64', 'keep'), '');
      symlinkSync('/usr/lib64', path.join(root, 'lib64'));
    }
    await apply((await makeLayer(entries)).gz, root, mode);
    const listing: string[] = [];
    const walk = (rel: string): void => {
      for (const name of readdirSync(path.join(root, rel)).sort()) {
        const child = rel ? `${rel}/${name}` : name;
        const s = lstatSync(path.join(root, child));
        listing.push(s.isSymbolicLink() ? `${child} -> ${readlinkSync(path.join(root, child))}` : s.isDirectory() ? `${child}/` : child);
        if (s.isDirectory()) walk(child);
      }
    };
    walk('');
    expect(listing).toEqual(expected);
    expect(existsSync('/tmp/inside')).toBe(false);
  });

  it('puts absolute entry names inside the root, as tar does', async () => {
    const root = tempDir();
    await apply((await makeLayer([{ name: '/abs/file', data: Buffer.from('in') }])).gz, root);
    expect(readFileSync(path.join(root, 'abs', 'file'), 'utf8')).toBe('in');
  });
});
