/**
 * Issue 21's two defects, end to end through the CLI: a host tool that is missing is an error naming
 * the tool, never an empty result (with `getfattr` gone, a RUN that replaced a directory used to
 * succeed and lose the opaque marker of its layer); and `build` reads the Dockerfile as
 * `--print-plan` does (a context holding only a lowercase `dockerfile`). And every other tool a
 * command starts, taken off PATH: each is `failed-precondition`, naming the tool and its package.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { FailedPreconditionError, type TsbuildError } from '../../src/errors.js';
import { openSshAgents } from '../../src/builder/ssh-agents.js';
import { checkDockerCli, startDockerLoad } from '../../src/export/docker-load.js';
import { runInUserNamespace } from '../../src/rootless/relaunch.js';
import { writeIdMaps } from '../../src/rootless/write-id-maps.js';
import { zstdCompress } from '../../src/archive/zstd.js';
import { decompressed } from '../../src/fileops/extract.js';
import { tsbuild } from '../helpers/cli.js';
import { pathWithout } from '../helpers/path-without.js';
import { registryAvailable, useBusyboxRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-host-tools-');
const busybox = useBusyboxRegistry(isRoot && registryAvailable);

describe.skipIf(!isRoot || !registryAvailable)('a missing host tool', () => {
  it('getfattr missing: a RUN that replaces a directory fails naming the tool (its layer would lose the opaque marker)', () => {
    const context = tempDir();
    writeFileSync(
      path.join(context, 'Dockerfile'),
      `FROM ${busybox.registry().host}/busybox:1\nRUN mkdir /d && echo a > /d/a\nRUN rm -rf /d && mkdir /d && echo b > /d/b\n`,
    );
    const env = { PATH: pathWithout(tempDir(), 'getfattr'), TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() };
    const result = tsbuild(['--root', tempDir(), 'build', '-q', context], { env, timeout: 120_000 });
    // The first RUN already needs it (its layer's attributes); buildx's block names that step.
    const host = busybox.registry().host;
    expect([result.status, result.stderr]).toEqual([
      1,
      [
        '------',
        ' > [2/3] RUN mkdir /d && echo a > /d/a:',
        '------',
        'Dockerfile:2',
        '--------------------',
        `   1 |     FROM ${host}/busybox:1`,
        '   2 | >>> RUN mkdir /d && echo a > /d/a',
        '   3 |     RUN rm -rf /d && mkdir /d && echo b > /d/b',
        '   4 |     ',
        '--------------------',
        'ERROR: failed to build: failed to solve: getfattr is not installed (not found on PATH)',
        'install it: apt-get install attr',
        '',
      ].join('\n'),
    ]);
  });
});

describe('the Dockerfile, found the same way by build and --print-plan', () => {
  it('a context holding only a lowercase dockerfile', () => {
    const context = tempDir();
    mkdirSync(path.join(context, 'sub'));
    writeFileSync(path.join(context, 'dockerfile'), 'FROM scratch\nWORKDIR /w\n');
    const plan = tsbuild(['build', '--print-plan', context]);
    expect([plan.status, plan.stdout]).toEqual([0, expect.stringContaining('WORKDIR /w')]);
    if (!isRoot) return;
    const built = tsbuild(['--root', tempDir(), 'build', '-q', context], { timeout: 60_000 });
    expect([built.status, built.stderr, built.stdout]).toEqual([0, '', expect.stringMatching(/^sha256:[0-9a-f]{64}\n$/)]);
  });
});

/** What a row runs once its tool is off PATH: `work` is an empty directory of its own. */
type Attempt = (work: string) => Promise<unknown>;

const DOCKER = [
  '--load streams the image into docker load',
  'install it: apt-get install docker.io; or write the archive with -o type=docker,dest=FILE',
];
const SSH = ['--ssh with key files holds them in a private ssh-agent', 'install it: apt-get install openssh-client'];
const IDS = ["rootless builds need it to map the user's ids", 'install it: apt-get install uidmap'];

/** `--ssh k=KEY`: an agent for a key file (what is in it does not matter before ssh-add reads it). */
const sshWithKey: Attempt = async (work) => {
  writeFileSync(path.join(work, 'key'), 'not a key\n');
  const agents = await openSshAgents([{ id: 'k', paths: [path.join(work, 'key')] }], path.join(work, 'root'));
  await agents.close();
};

/** Reads `stream` to its end. */
async function drain(stream: NodeJS.ReadableStream): Promise<void> {
  for await (const chunk of stream) void chunk;
}

/** ADD of an archive in a format zlib lacks: the file is handed to the format's own tool. */
const extract =
  (compression: 'xz' | 'bzip2'): Attempt =>
  async (work) => {
    writeFileSync(path.join(work, 'archive'), 'not read\n');
    await drain(decompressed(path.join(work, 'archive'), compression));
  };

/** A zstd layer (`-o compression=zstd`): the bytes go through the zstd command. */
const zstdLayer: Attempt = async () => {
  const compressor = zstdCompress();
  compressor.end(Buffer.from('a layer'));
  await drain(compressor);
};

/** The relaunch of an unprivileged user's command; its checks stop it before anything starts. */
const relaunch: Attempt = (work) =>
  runInUserNamespace({ argv: ['node', 'tsbuild', 'prune'], root: path.join(work, 'root'), files: { subuid: '/dev/null', subgid: '/dev/null' } });

describe('each missing host tool is failed-precondition, naming the tool', () => {
  it.each([
    ['docker', '--load, before the build', () => Promise.resolve().then(checkDockerCli), DOCKER],
    ['docker', '--load, when docker load starts', () => startDockerLoad().done(), DOCKER],
    ['ssh-agent', '--ssh with a key file', sshWithKey, SSH],
    ['ssh-add', '--ssh with a key file', sshWithKey, SSH],
    ['newuidmap', 'a rootless relaunch', relaunch, IDS],
    ['newgidmap', 'a rootless relaunch', relaunch, IDS],
    ['unshare', 'a rootless relaunch', relaunch, ['rootless builds make their user namespace with it', 'install it: apt-get install util-linux']],
    [
      'setpriv',
      'a rootless relaunch',
      relaunch,
      ['rootless builds need it to stop the inner command with tsbuild', 'install it: apt-get install util-linux'],
    ],
    ['zstd', 'a zstd layer', zstdLayer, ['zstd layers are compressed with it', 'install it: apt-get install zstd']],
    ['xz', 'ADD of a .tar.xz', extract('xz'), ['ADD extracts xz archives with it', 'install it: apt-get install xz-utils']],
    ['bzip2', 'ADD of a .tar.bz2', extract('bzip2'), ['ADD extracts bzip2 archives with it', 'install it: apt-get install bzip2']],
    // The maps written for a namespace (this process stands in for the one made by unshare).
    [
      'newuidmap',
      'writing the id maps',
      () => writeIdMaps(process.pid, { uid: 0, gid: 0, uids: { start: 1, count: 1 }, gids: { start: 1, count: 1 } }),
      IDS,
    ],
  ] as Array<[string, string, Attempt, string[]]>)('%s off PATH: %s', async (tool, _path, attempt, [purpose, hint]) => {
    const work = tempDir();
    vi.stubEnv('PATH', pathWithout(path.join(work, 'bin'), tool));
    vi.stubEnv('TSBUILD_DOCKER', undefined);
    let caught: unknown;
    try {
      await attempt(work);
    } catch (err) {
      caught = err;
    } finally {
      vi.unstubAllEnvs();
    }
    expect(caught).toBeInstanceOf(FailedPreconditionError);
    const err = caught as TsbuildError;
    expect([err.code, err.message, err.hint]).toEqual(['failed-precondition', `${tool} is not installed (not found on PATH): ${purpose}`, hint]);
    // Nothing of the attempt stays in its state root (an agent's socket directory, say).
    const scratch = path.join(work, 'root', 'tmp');
    expect(existsSync(scratch) ? readdirSync(scratch) : []).toEqual([]);
  });
});
