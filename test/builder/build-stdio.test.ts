/**
 * What a build sends out besides the image store, against the real thing: archives on stdout (read
 * back by `tar`), `--load` into the current Docker engine through its CLI (the container runs), and
 * `--ssh` with a real `ssh-agent` (the socket forwarded into the step; key files held by an agent
 * of the build's own, which `ssh-add -l` lists and which ends with the build).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSshAgents, parseSsh } from '../../src/builder/ssh-agents.js';
import { formatPlatform } from '../../src/image/platform.js';
import { hostPlatform } from '../../src/state/host-platform.js';
import { tsbuild, tsbuildBytes } from '../helpers/cli.js';
import { modernBuildKitAvailable, modernDockerHost } from '../helpers/dockerd.js';
import { writeBusyboxLayout } from '../helpers/oci-image.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-stdio-');
const fileDir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-stdio-file-'));
const layout = path.join(fileDir, 'bb');
const root = path.join(fileDir, 'root');
afterAll(() => rmSync(fileDir, { recursive: true, force: true }));

/** A context whose image prints a line when run. */
function context(dockerfile = 'FROM base\nRUN echo built > /built.txt\nCMD ["cat", "/built.txt"]\n'): string {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
  return dir;
}
const baseFlag = (): string[] => ['--build-context', `base=oci-layout://${layout}:1`];
const tarList = (bytes: Buffer): string[] =>
  execFileSync('tar', ['-t'], { input: bytes, encoding: 'utf8' })
    .split('\n')
    .filter((l) => l !== '');

describe.skipIf(!isRoot)('build outputs on stdout, --load and --ssh', () => {
  beforeAll(async () => {
    await writeBusyboxLayout(layout, '1', [formatPlatform(hostPlatform())]);
  }, 60_000);

  it.each([
    [['-o', '-'], (names: string[]) => expect(names).toContain('built.txt')],
    [['-o', 'type=tar,dest=-'], (names: string[]) => expect(names).toContain('bin/busybox')],
    [
      ['-o', 'type=oci,dest=-'],
      (names: string[]) =>
        expect(names.filter((n) => !/^blobs\/sha256\/[a-f0-9]{64}$/.test(n))).toEqual(['blobs/', 'blobs/sha256/', 'oci-layout', 'index.json']),
    ],
    [['-o', 'type=docker,dest=-', '-t', 'app:1'], (names: string[]) => expect(names).toContain('manifest.json')],
  ])('%j writes the archive alone to stdout, progress to stderr', (flags, check) => {
    const result = tsbuildBytes(['--root', root, 'build', '--progress=plain', ...baseFlag(), ...flags, context()]);
    expect(result.status, result.stderr).toBe(0);
    // The archive is all of stdout: tar reads it to its end, no digest line after it.
    check(tarList(result.stdout));
    expect(result.stdout.subarray(-1024).equals(Buffer.alloc(1024))).toBe(true);
    expect(result.stderr).toContain('steps run');
  });

  it('two outputs on stdout are refused before anything runs', () => {
    const result = tsbuild(['--root', root, 'build', ...baseFlag(), '-o', '-', '-o', 'type=oci,dest=-', context()]);
    expect([result.status, result.stderr]).toEqual([1, 'error: multiple outputs configured to write to stdout\n']);
  });

  it('--load without a docker CLI is one line, before the build runs', () => {
    const result = tsbuild(['--root', root, 'build', ...baseFlag(), '--load', '-t', 'app:1', context()], {
      env: { TSBUILD_DOCKER: '/nonexistent/docker' },
    });
    expect([result.status, result.stderr]).toEqual([
      1,
      'error: /nonexistent/docker is not installed (no such executable): --load streams the image into docker load\n' +
        'install it: apt-get install docker.io; or write the archive with -o type=docker,dest=FILE\n',
    ]);
  });

  describe.skipIf(!modernBuildKitAvailable)('--load into the current Docker engine', () => {
    let host = '';
    const name = `tsbuild-load-test-${randomBytes(4).toString('hex')}:1`;
    beforeAll(async () => {
      host = await modernDockerHost();
    }, 600_000);
    afterAll(() => {
      if (host) execFileSync('docker', ['rmi', '-f', name], { env: { ...process.env, DOCKER_HOST: host }, stdio: 'ignore' });
    });

    it('loads the image through docker load; it runs', () => {
      const env = { ...process.env, DOCKER_HOST: host };
      const result = tsbuild(['--root', root, 'build', ...baseFlag(), '--load', '-t', name, context()], { env });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/);
      expect(execFileSync('docker', ['run', '--rm', '--network=none', name], { env, encoding: 'utf8' })).toBe('built\n');
    });
  });

  // `tsbuild build .` from inside the context: a bind's source used to be resolved by runc against
  // its bundle directory, showing the step its own config.json (environment and secrets) instead.
  it('a context given as "." binds the context, in every form of the bind', () => {
    const dir = context(
      [
        'FROM base',
        'RUN --mount=type=bind,target=/c ls /c > /ro.txt',
        'RUN --mount=type=bind,target=/c,rw touch /c/scratch && ls /c > /rw.txt',
        'RUN --mount=type=bind,source=Dockerfile,target=/d head -n 1 /d > /file.txt',
      ].join('\n'),
    );
    writeFileSync(path.join(dir, 'hello.txt'), 'hi\n');
    const result = tsbuildBytes(['--root', root, 'build', ...baseFlag(), '-o', 'type=tar,dest=-', '.'], { cwd: dir });
    expect(result.status, result.stderr).toBe(0);
    const read = (name: string): string => execFileSync('tar', ['-xO', name], { input: result.stdout, encoding: 'utf8' });
    expect(read('ro.txt')).toBe('Dockerfile\nhello.txt\n');
    expect(read('rw.txt')).toBe('Dockerfile\nhello.txt\nscratch\n');
    expect(read('file.txt')).toBe('FROM base\n');
    expect(existsSync(path.join(dir, 'scratch'))).toBe(false);
  });

  // Issue 23's reproduction through the command: a file of a lower layer replaced by a non-empty
  // directory stopped the build with "internal error: ENOTDIR … lstat".
  it('a RUN replacing a lower file by a directory with a file in it builds; the layer has the directory', () => {
    const dir = context(['FROM base', 'RUN echo old > /f', 'RUN rm /f && mkdir /f && touch /f/x'].join('\n'));
    const result = tsbuildBytes(['--root', root, 'build', ...baseFlag(), '-o', 'type=tar,dest=-', dir]);
    expect(result.status, result.stderr).toBe(0);
    expect(tarList(result.stdout).filter((name) => /^f(\/|$)/.test(name))).toEqual(['f/', 'f/x']);
  });

  describe('--ssh with a real ssh-agent', () => {
    let agent: ChildProcess | undefined;
    let socket = '';
    let key = '';
    beforeAll(async () => {
      const dir = path.join(fileDir, 'ssh');
      execFileSync('mkdir', ['-p', dir]);
      key = path.join(dir, 'id_ed25519');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tsbuild-test-key', '-f', key]);
      socket = path.join(dir, 'agent.sock');
      agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
      for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 20));
      execFileSync('ssh-add', ['-q', key], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
    });
    afterAll(() => {
      agent?.kill();
    });

    const listKeys = (sock: string): string => execFileSync('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: sock }, encoding: 'utf8' });

    it('holds key files in an agent of its own, gone when closed', async () => {
      const agents = await openSshAgents([parseSsh(`deploy=${key}`), parseSsh(`sock=${socket}`)], root);
      const own = agents.sockets.deploy ?? '';
      expect(own).not.toBe(socket);
      expect(listKeys(own)).toMatch(/^256 SHA256:\S+ tsbuild-test-key \(ED25519\)\n$/);
      expect(agents.sockets.sock).toBe(socket);
      await agents.close();
      await new Promise((r) => setTimeout(r, 100));
      expect(existsSync(own)).toBe(false);
    });

    it('key files without ssh-agent on PATH: a failed precondition naming the tool', async () => {
      const saved = process.env.PATH;
      process.env.PATH = tempDir();
      try {
        await expect(openSshAgents([parseSsh(`deploy=${key}`)], root)).rejects.toMatchObject({
          code: 'failed-precondition',
          message: 'ssh-agent is not installed (not found on PATH): --ssh with key files holds them in a private ssh-agent',
          hint: 'install it: apt-get install openssh-client',
        });
      } finally {
        process.env.PATH = saved;
      }
    });

    it.each([
      [['--ssh', 'default'], 'RUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK" > /sock'],
      [['--ssh', 'k=KEY'], 'RUN --mount=type=ssh,id=k,required test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK" > /sock'],
    ])('%j forwards the agent socket into the step', (flags, run) => {
      const out = tempDir();
      const result = tsbuild(
        [
          '--root',
          root,
          'build',
          ...baseFlag(),
          ...flags.map((f) => f.replace('KEY', key)),
          '-o',
          `type=local,dest=${out}`,
          context(`FROM base\n${run}\n`),
        ],
        { env: { SSH_AUTH_SOCK: socket } },
      );
      expect(result.status, result.stderr).toBe(0);
      expect(readFileSync(path.join(out, 'sock'), 'utf8')).toBe('/run/buildkit/ssh_agent.0\n');
    });

    it.each([
      // Found when the step runs: buildx's block ends with the cause.
      [[], 'ERROR: failed to build: failed to solve: ssh agent k: not found\npass --ssh k=SOCKET_OR_KEY\n'],
      // A key file that is not there: refused before the build.
      [['--ssh', 'k=/nonexistent/key'], 'error: --ssh k: /nonexistent/key not found\n'],
    ])('a required agent that is missing: %j', (flags, stderr) => {
      const result = tsbuild(['--root', root, 'build', ...baseFlag(), ...flags, context('FROM base\nRUN --mount=type=ssh,id=k,required true\n')], {
        env: { SSH_AUTH_SOCK: '' },
      });
      const from = result.stderr.search(/^(ERROR|error): /m);
      expect([result.status, result.stderr.slice(from)]).toEqual([1, stderr]);
    });
  });
});
