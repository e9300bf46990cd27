// The peers tsbuild is measured beside, where installed: BuildKit (Debian's docker.io: a private
// dockerd with its own data root, no bridge, no iptables; Debian's client with DOCKER_BUILDKIT=1
// and --network=none) and buildah (its own storage root, --layers so it caches steps). Each
// builder is driven as a command, the way users run it, and timed as a whole.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A private dockerd; undefined when docker.io is not installed. */
export async function startBuildKit() {
  if (!existsSync('/usr/sbin/dockerd') || !existsSync('/usr/bin/docker')) return undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-bench-dockerd-'));
  const socket = path.join(dir, 'docker.sock');
  const child = spawn(
    '/usr/sbin/dockerd',
    [
      '--data-root',
      path.join(dir, 'data'),
      '--exec-root',
      path.join(dir, 'exec'),
      '--pidfile',
      path.join(dir, 'pid'),
      '-H',
      `unix://${socket}`,
      '--bridge=none',
      '--iptables=false',
      '--ip6tables=false',
    ],
    { stdio: 'ignore' },
  );
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_BUILDKIT: '1', DOCKER_CONFIG: path.join(dir, 'client') };
  const docker = (args, opts = {}) => execFileSync('/usr/bin/docker', args, { env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...opts });
  for (let i = 0; i < 300 && spawnSync('/usr/bin/docker', ['info'], { env, stdio: 'ignore' }).status !== 0; i++) await sleep(100);
  const version = docker(['version', '--format', '{{.Server.Version}}']).trim();
  return {
    name: `BuildKit (Docker ${version})`,
    build: (context, tag, args = []) => docker(['build', '--network=none', '-q', '-t', tag, ...args, context]),
    pull: (ref) => docker(['pull', '-q', ref]),
    push: (ref) => docker(['push', '-q', ref]),
    /** Forgets every image and cache record, for a cold build. */
    reset: () => {
      spawnSync('/usr/bin/docker', ['image', 'prune', '-af'], { env, stdio: 'ignore' });
      spawnSync('/usr/bin/docker', ['builder', 'prune', '-af'], { env, stdio: 'ignore' });
    },
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** buildah with a storage root of its own; undefined when not installed. */
export function startBuildah() {
  if (!existsSync('/usr/bin/buildah')) return undefined;
  let dir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-bench-buildah-'));
  const global = () => ['--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'run'), '--storage-driver', 'overlay'];
  const version = execFileSync('/usr/bin/buildah', ['--version'], { encoding: 'utf8' }).trim().split(' ')[2];
  const buildah = (args) =>
    execFileSync('/usr/bin/buildah', [...global(), ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 26 });
  const clear = () => {
    spawnSync('/usr/bin/buildah', [...global(), 'rm', '--all'], { stdio: 'ignore' });
    spawnSync('/usr/bin/buildah', [...global(), 'rmi', '--all', '--force'], { stdio: 'ignore' });
    spawnSync('umount', ['-R', path.join(dir, 'root', 'overlay')], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    name: `buildah ${version}`,
    build: (context, tag, args = []) => buildah(['bud', '--tls-verify=false', '--layers', '--network=none', '-q', '-t', tag, ...args, context]),
    pull: (ref) => buildah(['pull', '--tls-verify=false', '-q', ref]),
    push: (ref) => buildah(['push', '--tls-verify=false', '-q', ref]),
    reset: () => {
      clear();
      dir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-bench-buildah-'));
    },
    stop: async () => clear(),
  };
}
