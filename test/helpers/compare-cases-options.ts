/**
 * The comparison corpus's rows for instruction options and image metadata (issue 14's audit of
 * `../shared/spec/dockerfile-features.md` and `copy-add-semantics.md`): RUN --mount and --network
 * options, ADD --unpack/--link/--exclude and git sources, COPY --link --chmod, a socket in the
 * context, ONBUILD heredocs, EXPOSE ranges, MAINTAINER, STOPSIGNAL, platform and proxy args and
 * SOURCE_DATE_EPOCH. Each has a directory under `fixtures/dockerfiles/compare/`, whose Dockerfile
 * says what it exercises line by line.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { tarball, write, type CompareCase } from './compare-fixtures.js';

/** The secret the RUN --mount=type=secret rows read. */
function tokenSecret(work: string): Record<string, string> {
  mkdirSync(work, { recursive: true });
  writeFileSync(path.join(work, 'token.txt'), 's3cret');
  return { token: path.join(work, 'token.txt') };
}

/**
 * Makes a unix socket at `file`: a server listens on a neighbouring name, the socket file is
 * renamed into place and the server closed (closing unlinks only the name it listened on).
 */
async function unixSocket(file: string): Promise<void> {
  const server = net.createServer();
  const temporary = `${file}.listening`;
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(temporary, resolve));
  renameSync(temporary, file);
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** SOURCE_DATE_EPOCH of the case where the epoch is newer than every input. */
const EPOCH_AFTER_INPUTS = '1700000000';

export const OPTION_CASES: CompareCase[] = [
  {
    name: 'run-mount-options',
    covers:
      'RUN --mount options: secret mode/uid/gid/required/absent and id from the target, cache sharing=shared/private, from=stage with source=, readonly/ro, bind of a stage’s single file; --network=none/default; ssh required=false without an agent',
    secrets: tokenSecret,
  },
  {
    name: 'add-flags',
    covers:
      'ADD --unpack=true/false on local archives and URLs, ADD --link of a file and an archive, ADD --exclude, COPY --link --chmod (octal, symbolic, with --chown)',
    buildArgs: (f) => ({ URL: f.url }),
    prepare: (context) => {
      write(context, {
        'plain.txt': 'plain\n',
        'app/main.sh': 'echo main\n',
        'app/lib/util.sh': 'echo util\n',
        'app/notes.md': 'notes\n',
      });
      tarball(context, 'archive.tar.gz', 'gzip', (dir) => write(dir, { 'top.txt': 'top\n', 'sub/inner.txt': 'inner\n' }));
    },
  },
  {
    name: 'socket-context',
    covers: 'a unix socket in the context: COPY of the whole context, of the socket itself, ADD of a directory holding one',
    prepare: async (context) => {
      write(context, { 'keep.txt': 'keep\n', 'dir/file.txt': 'file\n' });
      await unixSocket(path.join(context, 'app.sock'));
      await unixSocket(path.join(context, 'dir', 'inner.sock'));
    },
  },
  {
    name: 'config-misc',
    covers: 'ONBUILD RUN and COPY heredocs (stored, then fired), EXPOSE ranges and protocols (8000-8002/udp, sctp), MAINTAINER, a numeric STOPSIGNAL',
  },
  {
    name: 'platform-args',
    covers:
      'TARGETPLATFORM/TARGETOS/TARGETARCH/TARGETVARIANT and BUILD* args in FROM (a stage name) and in a stage, FROM --platform=$BUILDPLATFORM; proxy build-args (any case) in RUN’s environment but not in the history',
    buildArgs: () => ({
      HTTP_PROXY: 'http://127.0.0.1:3128',
      https_proxy: 'http://127.0.0.1:3129',
      NO_PROXY: 'localhost,127.0.0.1',
      ftp_proxy: 'http://127.0.0.1:2121',
      ALL_PROXY: 'socks5://127.0.0.1:1080',
    }),
  },
  {
    name: 'source-date-epoch',
    covers: 'SOURCE_DATE_EPOCH as a build-arg (after every input): `created` of the image and each history entry, copied files’ times kept',
    buildArgs: () => ({ SOURCE_DATE_EPOCH: EPOCH_AFTER_INPUTS }),
    prepare: (context) => write(context, { 'old.txt': 'old\n' }),
    compareCreated: true,
  },
  {
    name: 'source-date-epoch-clamp',
    covers:
      'SOURCE_DATE_EPOCH before the inputs’ times: `created`, and the times of files the build makes (tsbuild clamps them, BuildKit’s --load does not)',
    buildArgs: () => ({ SOURCE_DATE_EPOCH: '1500000000' }),
    prepare: (context) => write(context, { 'old.txt': 'older than the epoch\n' }),
    compareCreated: true,
    differs:
      'by design (docs/compatibility.md): tsbuild clamps new files’ times to SOURCE_DATE_EPOCH as rewrite-timestamp=true does; Docker’s --load ignores rewrite-timestamp and keeps build times',
  },
  {
    name: 'add-git',
    covers: 'ADD <git> over smart HTTP: default branch, a tag, #ref:subdir (branch and tag), --keep-git-dir, --chown, --checksum',
    buildArgs: (f) => ({ GIT: f.git.url, V1: f.git.repo.v1 }),
  },
];
