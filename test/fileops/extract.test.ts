/**
 * ADD's archive extraction through symlinks (issue 14 item 5). Every row was first built by Docker
 * Engine 28.5's BuildKit as `FROM scratch`, `COPY base/ /` (which brings `/x/lnk -> /etc` and
 * `/etc/orig`), `ADD a.tar /x/`, and its result written down here: the destination directory is
 * the root for the archive's entries, an absolute symlink target starts again at it, a relative
 * one climbing out of it fails the build ("path escapes from parent"), and nothing is ever written
 * outside it.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PathEscapeError } from '../../src/archive/safe-path.js';
import { extractArchive } from '../../src/fileops/extract.js';
import { makeLayer } from '../helpers/oci-image.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-extract-');

type Entry = Parameters<typeof makeLayer>[0][number];
const file = (name: string, text: string): Entry => ({ name, data: Buffer.from(text) });
const dir = (name: string): Entry => ({ name, type: 'directory', mode: 0o700 });
const symlink = (name: string, linkname: string): Entry => ({ name, type: 'symlink', linkname });
const hardlink = (name: string, linkname: string): Entry => ({ name, type: 'link', linkname });

/** The image before the ADD: `/etc/orig` and `/x/lnk -> /etc`. */
function rootfs(): string {
  const root = tempDir();
  mkdirSync(path.join(root, 'etc'));
  writeFileSync(path.join(root, 'etc', 'orig'), 'hi\n');
  mkdirSync(path.join(root, 'x'));
  symlinkSync('/etc', path.join(root, 'x', 'lnk'));
  return root;
}

/** `path type [-> target|content] [links]` for every entry, as `find -printf '%p %y %l %n'` showed BuildKit's. */
function listing(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(root, rel)).sort()) {
      const child = rel ? `${rel}/${name}` : name;
      const s = lstatSync(path.join(root, child));
      if (s.isDirectory()) {
        out.push(`${child}/`);
        walk(child);
      } else if (s.isSymbolicLink()) out.push(`${child} -> ${readlinkSync(path.join(root, child))}`);
      else out.push(`${child} ${JSON.stringify(readFileSync(path.join(root, child), 'utf8'))}${s.nlink > 1 ? ` links=${s.nlink}` : ''}`);
    }
  };
  walk('');
  return out;
}

const BEFORE = ['etc/', 'etc/orig "hi\\n"', 'x/', 'x/lnk -> /etc'];

describe.skipIf(!isRoot)('ADD extracts through symlinks inside the destination, as BuildKit', () => {
  it.each<[string, Entry[], string[]]>([
    [
      'an absolute symlink the archive made',
      [symlink('link', '/elsewhere'), file('link/file', 'A')],
      ['x/elsewhere/', 'x/elsewhere/file "A"', 'x/link -> /elsewhere'],
    ],
    [
      'lib -> usr/lib with usr/lib listed',
      [symlink('lib', 'usr/lib'), dir('usr/'), dir('usr/lib/'), file('lib/a.so', 'C')],
      ['x/lib -> usr/lib', 'x/usr/', 'x/usr/lib/', 'x/usr/lib/a.so "C"'],
    ],
    [
      'lib -> usr/lib with usr/lib implied',
      [symlink('lib', 'usr/lib'), file('lib/a.so', 'C2')],
      ['x/lib -> usr/lib', 'x/usr/', 'x/usr/lib/', 'x/usr/lib/a.so "C2"'],
    ],
    ['a symlink already in the image (lnk -> /etc)', [file('lnk/f', 'D')], ['x/etc/', 'x/etc/f "D"']],
    ['a link to / then a path through it', [symlink('abs', '/'), file('abs/etc/e', 'E')], ['x/abs -> /', 'x/etc/', 'x/etc/e "E"']],
    [
      'a relative link climbing out after an absolute one (clamped)',
      [symlink('abs', '/'), symlink('abs/up', '../../..'), file('abs/up/f', 'I')],
      ['x/abs -> /', 'x/f "I"', 'x/up -> ../../..'],
    ],
    ['a relative link staying inside', [dir('d/'), symlink('d/ok', '../e'), file('d/ok/f', 'K')], ['x/d/', 'x/d/ok -> ../e', 'x/e/', 'x/e/f "K"']],
    [
      'a hard link through an absolute symlink',
      [symlink('lk', '/elsewhere'), file('real', 'H'), hardlink('lk/hard', 'real')],
      ['x/elsewhere/', 'x/elsewhere/hard "H" links=2', 'x/lk -> /elsewhere', 'x/real "H" links=2'],
    ],
    [
      'a hard link whose target is through a symlink',
      [symlink('lk', 'sub'), dir('sub/'), file('lk/f', 'H2'), hardlink('hard', 'lk/f')],
      ['x/hard "H2" links=2', 'x/lk -> sub', 'x/sub/', 'x/sub/f "H2" links=2'],
    ],
    [
      'a directory entry where a symlink is (replaced)',
      [symlink('link', '/elsewhere'), dir('link/'), file('link/f', 'M')],
      ['x/link/', 'x/link/f "M"'],
    ],
    ['a file entry where a symlink is (replaced)', [symlink('f', '/etc/orig'), file('f', 'N')], ['x/f "N"']],
  ])('%s', async (_name, entries, added) => {
    const root = rootfs();
    const archive = path.join(tempDir(), 'a.tar.gz');
    writeFileSync(archive, (await makeLayer(entries)).gz);
    expect(await extractArchive(archive, root, '/x/')).toBe(true);
    expect(listing(root)).toEqual([...BEFORE, ...added].sort());
  });

  it.each<[string, Entry[], string]>([
    [
      'a relative link climbing out',
      [symlink('up', '../../..'), file('up/file', 'B')],
      'refusing archive entry "up/file": the symlink "up" leads out of the destination',
    ],
    [
      'a relative link climbing out from a subdirectory',
      [dir('d/'), symlink('d/rel', '../..'), file('d/rel/f', 'J')],
      'the symlink "d/rel" leads out of the destination',
    ],
    [
      'a hard link target through a link climbing out',
      [symlink('up', '../../..'), hardlink('hard', 'up/etc/orig')],
      'refusing archive entry "hard": the symlink "up" leads out',
    ],
  ])('refuses %s and writes nothing outside the destination', async (_name, entries, message) => {
    const root = rootfs();
    const archive = path.join(tempDir(), 'a.tar.gz');
    writeFileSync(archive, (await makeLayer(entries)).gz);
    const failure = extractArchive(archive, root, '/x/');
    await expect(failure).rejects.toBeInstanceOf(PathEscapeError);
    await expect(failure).rejects.toThrow(message);
    expect(listing(root).filter((line) => !line.startsWith('x/'))).toEqual(['etc/', 'etc/orig "hi\\n"']);
  });

  it('resolves the destination itself inside the image root, then entries inside it', async () => {
    const root = rootfs();
    symlinkSync('/run', path.join(root, 'var-run'));
    const archive = path.join(tempDir(), 'a.tar.gz');
    writeFileSync(archive, (await makeLayer([file('act/x', 'R')])).gz);
    await extractArchive(archive, root, '/var-run/');
    expect(listing(root)).toEqual([...BEFORE, 'run/', 'run/act/', 'run/act/x "R"', 'var-run -> /run'].sort());
  });
});
