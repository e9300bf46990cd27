/**
 * A real unprivileged user for rootless tests: `useradd` makes `tsbuild-rl-<random>` with a home
 * of its own (and, by Debian's login.defs, a 65536-id subordinate range in /etc/subuid and
 * /etc/subgid unless `subids: false`); `userdel -r` removes it, its home and its ranges after the
 * file's tests. `run` starts the built CLI as that user (`runuser`), with a clean environment:
 * HOME, TMPDIR and DOCKER_CONFIG in its home, no registries config of the machine's.
 *
 * This machine's /dev/net/tun and /dev/fuse may be 0600 (Debian's udev makes them 0666); `tun:
 * true` (`fuse: true`) runs the command in a private mount namespace of the test's with a 0666
 * node of the same device bound over it, so the slirp4netns (fuse-overlayfs) of a rootless build
 * can open it as on a standard host, while the host's node stays as it is.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { CliResult } from './cli.js';
import { projectRoot } from './shared.js';

export interface RootlessUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** Runs `tsbuild ...args` as the user from its home; `input` is its stdin (default: nothing). */
  run(args: string[], options?: RunOptions): CliResult;
  /** `run` with stdout as bytes (an archive written to stdout). */
  runBytes(args: string[], options?: RunOptions): { status: number | null; stdout: Buffer; stderr: string };
  /** Runs a shell command as the user. */
  sh(script: string): CliResult;
  /** Starts `tsbuild ...args` as the user without waiting (`runuser`'s process; the command is its child). */
  start(args: string[], options?: Pick<RunOptions, 'env' | 'tun' | 'fuse'>): ChildProcess;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  tun?: boolean;
  fuse?: boolean;
  timeout?: number;
  input?: string | Buffer;
}

/** True when a rootless test can run here: as root, with the tools that make a user namespace. */
export const rootlessAvailable =
  process.getuid?.() === 0 && ['/usr/bin/newuidmap', '/usr/bin/newgidmap', '/usr/sbin/useradd', '/usr/sbin/runuser'].every((f) => existsSync(f));

/** Whether the host's tap device is open to everyone (else `tun: true` is needed for slirp4netns). */
export const tunOpenToAll = openToAll('/dev/net/tun');

function openToAll(device: string): boolean {
  return existsSync(device) && (statSync(device).mode & 0o006) === 0o006;
}

/** The devices `tun` and `fuse` stand for: where they are, their numbers, and the node the test makes. */
const DEVICES = { tun: { path: '/dev/net/tun', major: 10, minor: 200 }, fuse: { path: '/dev/fuse', major: 10, minor: 229 } } as const;

export function useRootlessUser(enabled: boolean, options: { subids?: boolean } = {}): () => RootlessUser {
  let user: RootlessUser | undefined;
  let nodeDir: string | undefined;
  beforeAll(() => {
    if (!enabled) return;
    const name = `tsbuild-rl-${randomBytes(4).toString('hex')}`;
    const home = path.join('/tmp', name);
    const ids = options.subids === false ? ['-K', 'SUB_UID_COUNT=0', '-K', 'SUB_GID_COUNT=0'] : [];
    check(spawnSync('useradd', ['-m', '-d', home, '-s', '/bin/sh', '-U', ...ids, name], { encoding: 'utf8' }), 'useradd');
    const uid = Number(spawnSync('id', ['-u', name], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', name], { encoding: 'utf8' }).stdout.trim());
    // A 0666 node beside each device that is not open to everyone.
    nodeDir = path.join('/tmp', `${name}-dev`);
    mkdirSync(nodeDir, { mode: 0o755 });
    for (const [key, device] of Object.entries(DEVICES)) {
      if (openToAll(device.path)) continue;
      check(
        spawnSync('mknod', ['-m', '666', path.join(nodeDir, key), 'c', String(device.major), String(device.minor)], { encoding: 'utf8' }),
        'mknod',
      );
      chmodSync(path.join(nodeDir, key), 0o666);
    }
    const env = (extra: NodeJS.ProcessEnv = {}): string[] =>
      Object.entries({
        PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
        HOME: home,
        USER: name,
        TMPDIR: home,
        DOCKER_CONFIG: path.join(home, '.docker'),
        TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json',
        ...extra,
      }).map(([k, v]) => `${k}=${v ?? ''}`);
    // runuser as the user, in a mount namespace with the devices' 0666 nodes where needed (the
    // process stays runuser's: unshare and sh exec it).
    const asUserWith = (command: string[], devices: Array<keyof typeof DEVICES>): string[] => {
      const inner = ['runuser', '-u', name, '--', ...command];
      const binds = devices
        .filter((key) => existsSync(path.join(nodeDir ?? '', key)))
        .map((key) => `mount --bind ${path.join(nodeDir ?? '', key)} ${DEVICES[key].path} && `)
        .join('');
      return binds ? ['unshare', '--mount', '--propagation=private', 'sh', '-c', `${binds}exec "$@"`, 'sh', ...inner] : inner;
    };
    const asUser = (
      command: string[],
      devices: Array<keyof typeof DEVICES>,
      timeout?: number,
      input?: string | Buffer,
    ): { status: number | null; stdout: Buffer; stderr: string } => {
      const wrapped = asUserWith(command, devices);
      const result = spawnSync(wrapped[0] as string, wrapped.slice(1), {
        cwd: home,
        input: input ?? '',
        maxBuffer: 256 * 1024 * 1024,
        ...(timeout ? { timeout, killSignal: 'SIGKILL' as const } : {}),
      });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString('utf8') };
    };
    const text = (r: { status: number | null; stdout: Buffer; stderr: string }): CliResult => ({ ...r, stdout: r.stdout.toString('utf8') });
    const cli = (args: string[], o: RunOptions): string[] => [
      'env',
      '-i',
      ...env(o.env),
      process.execPath,
      path.join(projectRoot, 'bin', 'tsbuild.js'),
      ...args,
    ];
    user = {
      name,
      uid,
      gid,
      home,
      run: (args, o = {}) => text(asUser(cli(args, o), devicesOf(o), o.timeout, o.input)),
      runBytes: (args, o = {}) => asUser(cli(args, o), devicesOf(o), o.timeout, o.input),
      sh: (script) => text(asUser(['env', '-i', ...env(), '/bin/sh', '-c', script], [])),
      start: (args, o = {}) => {
        const [program, ...rest] = asUserWith(cli(args, o), devicesOf(o));
        return spawn(program as string, rest, { cwd: home, stdio: ['ignore', 'pipe', 'pipe'] });
      },
    };
  });
  afterAll(() => {
    if (!user) return;
    spawnSync('userdel', ['-r', '-f', user.name], { encoding: 'utf8' });
    rmSync(user.home, { recursive: true, force: true });
    if (nodeDir) rmSync(nodeDir, { recursive: true, force: true });
    user = undefined;
  });
  return () => {
    if (!user) throw new Error('the rootless user was not created (not enabled)');
    return user;
  };
}

function devicesOf(options: RunOptions): Array<keyof typeof DEVICES> {
  return [...(options.tun ? (['tun'] as const) : []), ...(options.fuse ? (['fuse'] as const) : [])];
}

function check(result: { status: number | null; stderr: string }, what: string): void {
  if (result.status !== 0) throw new Error(`${what} failed: ${result.stderr}`);
}
