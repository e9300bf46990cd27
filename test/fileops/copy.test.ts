import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { contextTree, loadBuildContext } from '../../src/context/build-context.js';
import { parseDockerignore } from '../../src/context/dockerignore.js';
import { copyInto, type CopyOptions } from '../../src/fileops/copy.js';
import { parseChmod } from '../../src/fileops/ownership.js';
import { expandSource, type SourceTree } from '../../src/fileops/sources.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-copy-');

/** Builds a tree: `name: content`, `dir/: ''`, `link -> target` entries. */
function make(entries: Record<string, string>, root = tempDir()): string {
  for (const [name, content] of Object.entries(entries)) {
    const arrow = name.indexOf(' -> ');
    const rel = arrow < 0 ? name : name.slice(0, arrow);
    const abs = path.join(root, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    if (arrow >= 0) symlinkSync(name.slice(arrow + 4), abs);
    else if (rel.endsWith('/')) mkdirSync(abs, { recursive: true });
    else writeFileSync(abs, content);
  }
  return root;
}

/** Every entry below `root`: `path type mode uid:gid [content|-> target]`. */
function tree(root: string, under = ''): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(root, rel)).sort()) {
      const child = rel ? `${rel}/${name}` : name;
      const abs = path.join(root, child);
      const s = lstatSync(abs);
      const owner = `${s.uid}:${s.gid}`;
      const mode = (s.mode & 0o7777).toString(8);
      if (s.isDirectory()) {
        out.push(`${child}/ ${mode} ${owner}`);
        walk(child);
      } else if (s.isSymbolicLink()) out.push(`${child} -> ${readlinkSync(abs)}`);
      else out.push(`${child} ${mode} ${owner} ${JSON.stringify(readFileSync(abs, 'utf8'))}`);
    }
  };
  walk(under);
  return out;
}

async function copy(
  context: string,
  sources: string[],
  rootfs: string,
  dest: string,
  options: Partial<CopyOptions> = {},
  tree: Partial<SourceTree> = {},
): Promise<void> {
  const src: SourceTree = { root: context, ...tree };
  const matches = (await Promise.all(sources.map((s) => expandSource(src, s)))).flat();
  await copyInto(src, matches, rootfs, dest, { keepOwners: false, ...options });
}

describe.skipIf(!isRoot)('COPY semantics (copy-add-semantics.md §3–§7)', () => {
  it.each([
    ['sub/dir1/', 'd4'],
    ['sub/dir1/.', 'd5'],
    ['sub/dir1', 'd6'],
  ])('a directory source %s copies its contents into /%s', async (source, dest) => {
    const ctx = make({ 'sub/dir1/dir2/foo': 'foo' });
    const rootfs = tempDir();
    await copy(ctx, [source], rootfs, `/${dest}`);
    expect(tree(rootfs)).toEqual([`${dest}/ 755 0:0`, `${dest}/dir2/ 755 0:0`, `${dest}/dir2/foo 644 0:0 "foo"`]);
  });

  it('puts a file into a destination ending in /, or makes it the destination', async () => {
    const ctx = make({ foo: 'foo', 'a.txt': 'a', 'b.txt': 'b' });
    const rootfs = make({ 'existing/': '' });
    await copy(ctx, ['foo'], rootfs, '/sample/');
    await copy(ctx, ['foo'], rootfs, '/renamed');
    await copy(ctx, ['foo'], rootfs, '/existing');
    await copy(ctx, ['a.txt', 'b.txt'], rootfs, '/out');
    expect(tree(rootfs)).toEqual([
      'existing/ 755 0:0',
      'existing/foo 644 0:0 "foo"',
      'out 644 0:0 "b"',
      'renamed 644 0:0 "foo"',
      'sample/ 755 0:0',
      'sample/foo 644 0:0 "foo"',
    ]);
  });

  it('matches wildcards segment by segment, skips no-matches, fails on a missing literal', async () => {
    const ctx = make({ 'a.go': '1', 'b.go': '2', 'c.txt': '3', 'sub/x/dir2/foo': '4', 'sub/y/dir2/foo': '5', 'arr[0].txt': '6' });
    const rootfs = tempDir();
    await copy(ctx, ['*.go', 'nomatch*', 'arr[[]0].txt'], rootfs, '/g/');
    await copy(ctx, ['sub/*/dir2/foo'], rootfs, '/f/');
    expect(tree(rootfs)).toEqual([
      'f/ 755 0:0',
      'f/foo 644 0:0 "5"',
      'g/ 755 0:0',
      'g/a.go 644 0:0 "1"',
      'g/arr[0].txt 644 0:0 "6"',
      'g/b.go 644 0:0 "2"',
    ]);
    await expect(copy(ctx, ['notexist'], rootfs, '/x')).rejects.toThrow('"/notexist": not found');
  });

  // Both checked against Docker Engine 28.5's BuildKit (fsutil's copy): `--exclude=*.log *.log`
  // still copies keep.log; `COPY a b /w/` leaves /w with b's times, not its mode.
  it('--exclude filters below a source, never a matched source itself', async () => {
    const ctx = make({ 'keep.log': 'k', 'dir/a.log': 'a', 'dir/b.txt': 'b' });
    const rootfs = tempDir();
    await copy(ctx, ['*.log', 'dir'], rootfs, '/w/', { exclude: parseDockerignore('*.log') });
    expect(tree(rootfs)).toEqual(['w/ 755 0:0', 'w/b.txt 644 0:0 "b"', 'w/keep.log 644 0:0 "k"']);
  });

  it('gives the destination directory the times of each directory source, the last one winning', async () => {
    const ctx = make({ 'a/f': 'f', 'b/g': 'g' });
    chmodSync(path.join(ctx, 'b'), 0o700);
    utimesSync(path.join(ctx, 'a'), new Date('2001-01-01Z'), new Date('2001-01-01Z'));
    utimesSync(path.join(ctx, 'b'), new Date('2002-01-01Z'), new Date('2002-01-01Z'));
    const rootfs = make({ 'existing/old': 'o' });
    await copy(ctx, ['a', 'b'], rootfs, '/existing/');
    await copy(ctx, ['a'], rootfs, '/new');
    const times = ['existing', 'new'].map((d) => [
      d,
      (lstatSync(path.join(rootfs, d)).mode & 0o777).toString(8),
      lstatSync(path.join(rootfs, d)).mtime.toISOString(),
    ]);
    expect(times).toEqual([
      ['existing', '755', '2002-01-01T00:00:00.000Z'],
      ['new', '755', '2001-01-01T00:00:00.000Z'],
    ]);
    // The context's own root is the exception: BuildKit reads a copy of the context, whose root has
    // the time of that copy, so `COPY . /app/` leaves /app with the time of the build.
    utimesSync(ctx, new Date('2003-01-01Z'), new Date('2003-01-01Z'));
    const context = contextTree(await loadBuildContext(ctx));
    await copyInto(context, await expandSource(context, '.'), rootfs, '/app/', { keepOwners: false });
    expect(lstatSync(path.join(rootfs, 'app')).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
  });

  it('follows source symlinks (also through parents and chains) and keeps symlinks inside directories', async () => {
    const ctx = make({
      'sub/foo': 'through link',
      bar: 'bar content',
      'foo -> bar': '',
      'link -> sub': '',
      'l1 -> second': '',
      'second -> bar': '',
      'dir/file-404.txt': '404',
      'dir/file-403.txt -> file-404.txt': '',
      'dir/dangling -> nowhere': '',
    });
    const rootfs = tempDir();
    await copy(ctx, ['link/foo'], rootfs, '/a/');
    await copy(ctx, ['foo'], rootfs, '/');
    await copy(ctx, ['l*'], rootfs, '/alllinks/');
    await copy(ctx, ['dir'], rootfs, '/d/');
    expect(tree(rootfs)).toEqual([
      'a/ 755 0:0',
      'a/foo 644 0:0 "through link"',
      // `link` resolves to a directory: its contents land in the destination.
      'alllinks/ 755 0:0',
      'alllinks/foo 644 0:0 "through link"',
      'alllinks/l1 644 0:0 "bar content"',
      'd/ 755 0:0',
      'd/dangling -> nowhere',
      'd/file-403.txt -> file-404.txt',
      'd/file-404.txt 644 0:0 "404"',
      'foo 644 0:0 "bar content"',
    ]);
  });

  it('follows destination symlinks inside the rootfs, creating missing directories', async () => {
    const ctx = make({ foo: 'x' });
    const rootfs = make({ 'symlink -> ../tmp/symlink-target': '', 'etc-link -> /etc': '' });
    await copy(ctx, ['foo'], rootfs, '/symlink/');
    await copy(ctx, ['foo'], rootfs, '/etc-link/passwd-copy');
    expect(tree(rootfs)).toEqual([
      'etc/ 755 0:0',
      'etc/passwd-copy 644 0:0 "x"',
      'etc-link -> /etc',
      'symlink -> ../tmp/symlink-target',
      'tmp/ 755 0:0',
      'tmp/symlink-target/ 755 0:0',
      'tmp/symlink-target/foo 644 0:0 "x"',
    ]);
    expect(existsSync('/etc/passwd-copy')).toBe(false);
  });

  it('owns context files by 0:0, keeps owners with --from, and --chown owns all it creates; existing dirs stay', async () => {
    const src = make({ 'dir/subdir/nestedfile': 'n' });
    chownSync(path.join(src, 'dir'), 100, 200);
    chownSync(path.join(src, 'dir/subdir'), 101, 201);
    chownSync(path.join(src, 'dir/subdir/nestedfile'), 102, 202);
    const rootfs = make({ 'existingdir/old': 'old' });
    chownSync(path.join(rootfs, 'existingdir'), 500, 600);
    await copy(src, ['dir'], rootfs, '/fromctx');
    await copy(src, ['/dir'], rootfs, '/dir', { keepOwners: true });
    await copy(src, ['/dir/.'], rootfs, '/existingdir', { keepOwners: true });
    await copy(src, ['/dir'], rootfs, '/chowned/deep', { keepOwners: true, chown: { uid: 300, gid: 400 } });
    expect(tree(rootfs)).toEqual([
      'chowned/ 755 300:400',
      'chowned/deep/ 755 300:400',
      'chowned/deep/subdir/ 755 300:400',
      'chowned/deep/subdir/nestedfile 644 300:400 "n"',
      'dir/ 755 0:0',
      'dir/subdir/ 755 101:201',
      'dir/subdir/nestedfile 644 102:202 "n"',
      'existingdir/ 755 500:600',
      'existingdir/old 644 0:0 "old"',
      'existingdir/subdir/ 755 101:201',
      'existingdir/subdir/nestedfile 644 102:202 "n"',
      'fromctx/ 755 0:0',
      'fromctx/subdir/ 755 0:0',
      'fromctx/subdir/nestedfile 644 0:0 "n"',
    ]);
  });

  it('gives created parents the numeric --chmod and applies it to every entry', async () => {
    const ctx = make({ foo: 'f', 'd/sub/x': 'x' });
    const rootfs = tempDir();
    await copy(ctx, ['foo'], rootfs, '/parent/foo', { chmod: parseChmod('777') });
    await copy(ctx, ['foo'], rootfs, '/parent/sub/foo', { chmod: parseChmod('770') });
    await copy(ctx, ['d'], rootfs, '/sym/', { chmod: parseChmod('go-w') });
    expect(tree(rootfs)).toEqual([
      'parent/ 777 0:0',
      'parent/foo 777 0:0 "f"',
      'parent/sub/ 770 0:0',
      'parent/sub/foo 770 0:0 "f"',
      'sym/ 755 0:0',
      'sym/sub/ 755 0:0',
      'sym/sub/x 644 0:0 "x"',
    ]);
  });

  it('keeps hard links, turns sockets into empty files, honours --exclude and --parents', async () => {
    const ctx = make({ 'dir1/file-101.png': 'png', 'dir1/file-102.txt': 'txt', 'foo1/foo2/bar': 'bar', 'foo1/foo2/baz': 'baz', 'h/a': 'same' });
    linkSync(path.join(ctx, 'h/a'), path.join(ctx, 'h/b'));
    const server = net.createServer().listen(path.join(ctx, 'h/sock'));
    try {
      const rootfs = tempDir();
      await copy(ctx, ['h'], rootfs, '/h/');
      await copy(ctx, ['.'], rootfs, '/ex/', { exclude: parseDockerignore('*/*.png\nfoo1\nh') });
      await copy(ctx, ['foo1/foo2/ba*'], rootfs, '/test/', { parents: true });
      expect(lstatSync(path.join(rootfs, 'h/a')).ino).toBe(lstatSync(path.join(rootfs, 'h/b')).ino);
      expect(tree(rootfs)).toEqual([
        'ex/ 755 0:0',
        'ex/dir1/ 755 0:0',
        'ex/dir1/file-102.txt 644 0:0 "txt"',
        'h/ 755 0:0',
        'h/a 644 0:0 "same"',
        'h/b 644 0:0 "same"',
        'h/sock 755 0:0 ""',
        'test/ 755 0:0',
        'test/foo1/ 755 0:0',
        'test/foo1/foo2/ 755 0:0',
        'test/foo1/foo2/bar 644 0:0 "bar"',
        'test/foo1/foo2/baz 644 0:0 "baz"',
      ]);
    } finally {
      server.close();
    }
  });

  it('never reads outside the source root: .. and absolute symlinks are resolved inside it', async () => {
    const parent = tempDir();
    const ctx = make({ 'inside/file': 'in', 'abs -> /etc/passwd': '', 'rel -> ../../../../etc/passwd': '' }, path.join(parent, 'ctx'));
    writeFileSync(path.join(parent, 'outside'), 'secret');
    const rootfs = tempDir();
    await expect(copy(ctx, ['../outside'], rootfs, '/x')).rejects.toThrow('"/outside": not found');
    await expect(copy(ctx, ['abs'], rootfs, '/x')).rejects.toThrow('"/abs": not found');
    await expect(copy(ctx, ['rel'], rootfs, '/x')).rejects.toThrow('"/rel": not found');
    expect(readdirSync(rootfs)).toEqual([]);
  });

  // Issue 14 item 3. Each row was built by Docker Engine 28.5's BuildKit (`COPY <source> /app/`
  // after `FROM scratch`): an excluded directory exists only when an exception re-includes
  // something inside it, and then only with the parents of what is re-included.
  const ignoreContext = {
    keep: 'k',
    'keep.log': 'k',
    'secret/s': 's',
    'build/out/o': 'o',
    'build/keep.log': 'k2',
    'build/keep/deep/f': 'k3',
    'a/x/f': 'a',
    'x/f': 'b',
    'b/c/x/y/f': 'y',
    'b/c/z': 'z',
  };
  it.each([
    [
      'secret, /build and !keep.log',
      'secret\n/build\n!keep.log\n',
      '.',
      ['a/', 'a/x/', 'a/x/f', 'b/', 'b/c/', 'b/c/x/', 'b/c/x/y/', 'b/c/x/y/f', 'b/c/z', 'keep', 'keep.log', 'x/', 'x/f'],
    ],
    ['build and !build/keep', 'build\n!build/keep\n', 'build', ['keep/', 'keep/deep/', 'keep/deep/f']],
    ['build and !build/keep/deep/f', 'build\n!build/keep/deep/f\n', 'build', ['keep/', 'keep/deep/', 'keep/deep/f']],
    ['**/x and !a/x', '**/x\n!a/x\n', 'b', ['c/', 'c/z']],
    ['* and !b/c/z', '*\n!b/c/z\n', '.', ['b/', 'b/c/', 'b/c/z']],
    ['build/out and !build/out/nothing', 'build/out\n!build/out/nothing\n', 'build', ['keep/', 'keep/deep/', 'keep/deep/f', 'keep.log']],
  ])('.dockerignore %s: COPY holds only what is included', async (_name, ignore, source, expected) => {
    const ctx = make({ ...ignoreContext, '.dockerignore': ignore.replace(/\\n/g, '\n') });
    const rootfs = tempDir();
    const src = contextTree(await loadBuildContext(ctx));
    await copyInto(src, await expandSource(src, source), rootfs, '/app/', { keepOwners: false });
    const listed = tree(rootfs, 'app').map((line) => line.split(' ')[0]?.replace(/^app\//, ''));
    expect(listed.filter((name) => name !== '.dockerignore')).toEqual(expected);
  });

  it.each([
    ['nothing re-included', 'build\n!other\n', 'build', '"/build": not found'],
    ['no exceptions', 'build\n', 'build', '"/build": not found'],
    ['a wildcard matching only an empty excluded directory', 'build\n!other\n', 'buil*', undefined],
  ])('an excluded directory with %s does not exist for COPY', async (_name, ignore, source, error) => {
    const ctx = make({ ...ignoreContext, '.dockerignore': ignore.replace(/\\n/g, '\n') });
    const src = contextTree(await loadBuildContext(ctx));
    if (error) await expect(expandSource(src, source)).rejects.toThrow(error);
    else expect(await expandSource(src, source)).toEqual([]);
  });

  it('treats .dockerignore-excluded files as absent', async () => {
    const ctx = make({ keep: 'k', secret: 's', 'dir/secret': 's2', 'dir/ok': 'ok' });
    const ignore = parseDockerignore('secret\ndir/secret\n');
    const rootfs = tempDir();
    const filter = { contains: (rel: string) => !ignore.excludes(rel) };
    await copy(ctx, ['.'], rootfs, '/all/', {}, filter);
    await expect(copy(ctx, ['secret'], rootfs, '/s', {}, filter)).rejects.toThrow('"/secret": not found');
    expect(tree(rootfs)).toEqual(['all/ 755 0:0', 'all/dir/ 755 0:0', 'all/dir/ok 644 0:0 "ok"', 'all/keep 644 0:0 "k"']);
  });
});
