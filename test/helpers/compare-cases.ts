/**
 * The corpus both tsbuild and BuildKit build (`test/builder/buildkit-compare.test.ts`): one row
 * per case, each with a directory under `fixtures/dockerfiles/compare/` and, where files are
 * better made than stored (archives, a thousand files, a deep tree), a `prepare` step. These rows
 * cover the file-system side (COPY/ADD paths, archives, layers, RUN mounts); the instruction
 * options and image metadata rows are in `compare-cases-options.ts`. What they share (bases,
 * servers, writers) is in `compare-fixtures.ts`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { OPTION_CASES } from './compare-cases-options.js';
import { tarball, URL_FILE, write, type CompareCase } from './compare-fixtures.js';
import { allTransitionsDockerfile, layerTransitionsDockerfile } from './layer-transitions.js';
import { makeLayer } from './oci-image.js';

/** The tree the .dockerignore cases filter (issue 14 item 3). */
function ignoreTree(context: string): void {
  write(context, {
    'keep.log': 'k\n',
    'secret/s': 's\n',
    'build/out/o': 'o\n',
    'build/keep.log': 'k2\n',
    'build/keep/deep/f': 'k3\n',
    'a/x/f': 'a\n',
    'x/f': 'b\n',
    'b/c/x/y/f': 'y\n',
    'b/c/z': 'z\n',
  });
  chmodSync(path.join(context, 'build'), 0o700);
}

/** An archive with a hard link, a directory, and names that look like layer whiteouts. */
function archiveContent(dir: string): void {
  mkdirSync(dir, { recursive: true });
  write(dir, { 'top.txt': 'top\n', 'sub/inner.txt': 'inner\n', 'sub/.wh.hidden': 'not a whiteout\n', '.wh..wh..opq': 'nor this\n' });
  linkSync(path.join(dir, 'top.txt'), path.join(dir, 'sub', 'hard.txt'));
  chmodSync(path.join(dir, 'sub'), 0o750);
}

const TREE_CASES: CompareCase[] = [
  {
    name: 'basics',
    covers:
      'multi-stage build, ENV/ARG, WORKDIR, COPY --chown/--chmod/--from, RUN with cache and bind mounts, every config instruction, ADD of a tar',
    prepare: (context) => tarball(context, 'archive.tar', '', (dir) => write(dir, { 'inside.txt': 'from the archive\n' })),
  },
  {
    name: 'basics-target',
    dir: 'basics',
    covers: '--target of a middle stage: only what it needs is built',
    target: 'test',
    prepare: (context) => tarball(context, 'archive.tar', '', (dir) => write(dir, { 'inside.txt': 'from the archive\n' })),
  },
  {
    name: 'workdir',
    covers: 'WorkingDir (issue 14 item 1): an image base keeps its empty WorkingDir; relative, chained and user-owned WORKDIRs',
  },
  {
    name: 'workdir-scratch',
    covers: 'WorkingDir (issue 14 item 1): a FROM scratch stage has WorkingDir /, and a stage on it inherits /',
  },
  {
    name: 'dockerignore',
    covers: '.dockerignore with exceptions (issue 14 item 3): secret, /build, !keep.log',
    prepare: ignoreTree,
  },
  {
    name: 'dockerignore-reinclude',
    covers: '.dockerignore re-including inside an excluded directory: build, !build/keep/deep/f, **/x, !a/x',
    prepare: ignoreTree,
  },
  {
    name: 'heredocs',
    covers: 'RUN and COPY heredocs: shell and #! bodies, <<- tabs, quoted and unquoted delimiters, several at once, --chmod',
  },
  {
    name: 'copy-paths',
    covers: 'COPY sources and destinations: wildcards, directory contents, trailing slashes, WORKDIR-relative and .., empty destination, overwriting',
    prepare: (context) =>
      write(context, {
        'a.go': 'package a\n',
        'b.go': 'package b\n',
        'c.txt': 'c\n',
        'arr[0].txt': 'bracket\n',
        'sub/x/dir2/foo': 'x\n',
        'sub/y/dir2/foo': 'y\n',
        'dir/one': '1\n',
        'dir/nested/two': '2\n',
        'dir/empty/': '',
        'unicode-ü ñ.txt': 'unicode\n',
      }),
  },
  {
    name: 'copy-flags',
    covers: 'COPY --chmod (octal and symbolic), --chown by name and number, --link, --exclude; ADD --chown',
    prepare: (context) =>
      write(context, {
        'app/main.sh': 'echo main\n',
        'app/lib/util.sh': 'echo util\n',
        'app/img/logo.png': 'png\n',
        'app/notes.md': 'notes\n',
        'plain.txt': 'plain\n',
      }),
  },
  {
    name: 'copy-link-existing-dir',
    covers: 'COPY --link into directories the base already has (/tmp 1777, /root 0700): they keep their mode and owner',
  },
  {
    name: 'symlinks',
    covers:
      'symlinks as COPY sources (followed, also through a parent and by a wildcard), kept inside directories, dangling, and as destinations in the image',
    prepare: (context) =>
      write(context, {
        'real/file.txt': 'real\n',
        'real/inner -> file.txt': '',
        'real/dangling -> nowhere': '',
        'real/abs -> /etc/motd': '',
        'link-to-file -> real/file.txt': '',
        'link-to-dir -> real': '',
        'chain -> link-to-file': '',
      }),
  },
  {
    name: 'archives',
    covers:
      'ADD of plain, gzip, bzip2, xz and zstd tars with hard links and whiteout-like names; non-archives kept; several archives into one directory; --chown',
    prepare: (context) => {
      for (const [name, compressor] of [
        ['plain.tar', ''],
        ['gzip.tgz', 'gzip'],
        ['bzip2.tar.bz2', 'bzip2'],
        ['xz.tar.xz', 'xz'],
        ['zstd.tar.zst', 'zstd'],
        ['named.bin', 'gzip'],
      ] as const)
        tarball(context, name, compressor, archiveContent);
      tarball(context, 'extra1.tar', '', (dir) => write(dir, { 'one.txt': '1\n' }));
      tarball(context, 'extra2.tar', '', (dir) => write(dir, { 'two.txt': '2\n' }));
      writeFileSync(path.join(context, 'notes.txt.gz'), execFileSync('gzip', ['-c'], { input: 'just notes\n' }));
      writeFileSync(path.join(context, 'empty.tar.gz'), '');
    },
  },
  {
    name: 'archive-symlinks',
    covers:
      'ADD of archives whose entries go through their own symlinks (issue 14 item 5): lib -> usr/lib, an absolute link, a hard link through a link',
    prepare: async (context) => {
      const entries: Parameters<typeof makeLayer>[0] = [
        { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
        { name: 'lib/libc.so', data: Buffer.from('libc\n') },
        { name: 'elsewhere', type: 'symlink', linkname: '/opt/real' },
        { name: 'elsewhere/conf', data: Buffer.from('conf\n') },
        { name: 'plain', data: Buffer.from('plain\n') },
        { name: 'elsewhere/hard', type: 'link', linkname: 'plain' },
      ];
      writeFileSync(path.join(context, 'rootfs.tar.gz'), (await makeLayer(entries)).gz);
    },
  },
  {
    name: 'base-layer-symlinks',
    covers: 'a base whose layers write through symlinks: the layer’s own are followed, a lower layer’s is hidden by a directory',
  },
  {
    name: 'add-url',
    covers: 'ADD <url>: file name from the URL, mode 0600, Last-Modified as mtime, --chmod, --checksum, archives not extracted',
    buildArgs: (f) => ({ URL: f.url, SUM: `sha256:${createHash('sha256').update(URL_FILE).digest('hex')}` }),
  },
  {
    name: 'run-mounts',
    covers: 'RUN --mount: cache (id, sharing, uid/gid/mode), tmpfs (size), bind from a stage (rw) and of the context, secret (file and env)',
    prepare: (context) => write(context, { 'src/input.txt': 'input\n' }),
    secrets: (work) => {
      mkdirSync(work, { recursive: true });
      writeFileSync(path.join(work, 'token.txt'), 's3cret');
      return { token: path.join(work, 'token.txt') };
    },
  },
  {
    name: 'run-mount-file',
    covers: 'RUN --mount=type=bind of a single file (issue 14 item 4)',
  },
  {
    name: 'run-mount-stubs',
    covers: 'RUN on a base without /dev, /proc, /sys (issue 14 item 2)',
  },
  {
    name: 'args-env',
    covers: 'ARG/ENV expansion edge cases: defaults, :- :+ # % forms, escapes, global ARGs, build-args, empty ARGs, the RUN history prefix',
    buildArgs: () => ({ OVERRIDE: 'from-cli', EMPTY: '' }),
  },
  {
    name: 'onbuild',
    covers: 'ONBUILD triggers in a stage fire in a stage built FROM it, and are stored in the image config',
  },
  {
    name: 'target-unreachable',
    covers: '--target with unreachable stages (one FROM an image that does not exist) never built',
    target: 'app',
  },
  {
    name: 'special-files',
    covers: 'files RUN makes: FIFOs, device nodes, hard links, setuid/setgid/sticky modes, empty directories, odd names',
  },
  {
    name: 'metadata-only',
    covers: 'changes to metadata only: chmod, chown, touch of base files; deletions (whiteouts) and a directory replaced (opaque)',
  },
  {
    name: 'layer-transitions',
    covers:
      'generated RUN layers turning 10 paths into files, directories, empty directories, symlinks to files and to directories, or nothing, in every order (issue 23), and changes below a replaced directory',
    prepare: (context) => writeFileSync(path.join(context, 'Dockerfile'), layerTransitionsDockerfile()),
  },
  {
    name: 'layer-transitions-all',
    covers: 'every one of the 36 transitions between those kinds (file→dir, dir→file, empty-dir→file, symlink→dir, …) in two RUN layers (issue 23)',
    prepare: (context) => writeFileSync(path.join(context, 'Dockerfile'), allTransitionsDockerfile()),
  },
  {
    name: 'many-files',
    covers: 'a 1,000-file context copied, and 1,000 files made by RUN',
    prepare: (context) => {
      for (let i = 0; i < 1000; i++) write(context, { [`files/d${i % 10}/f${i}.txt`]: `file ${i}\n`.repeat(i % 7) });
    },
  },
  {
    name: 'deep-tree',
    covers: 'a 60-level deep directory tree from the context and from RUN',
    prepare: (context) => write(context, { [`${Array.from({ length: 60 }, (_, i) => `d${i}`).join('/')}/leaf.txt`]: 'deep\n' }),
  },
  {
    name: 'users',
    covers: 'USER by name and number, WORKDIR owned by the user, COPY --chown=user:group from passwd/group, RUN as the user',
    prepare: (context) => write(context, { 'owned.txt': 'owned\n', 'dir/inner.txt': 'inner\n' }),
  },
];

/** Every case, in the order the suite runs them. */
export const COMPARE_CASES: CompareCase[] = [...TREE_CASES, ...OPTION_CASES];
