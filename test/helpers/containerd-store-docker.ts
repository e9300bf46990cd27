/**
 * A private Docker Engine with the containerd image store, for comparing multi-platform builds
 * with BuildKit: the shared engine (`buildkit.ts`) uses the overlay2 graph driver, whose docker
 * build driver refuses several platforms and OCI outputs. This one uses the same Engine 28
 * binaries (unpacked by `../shared/tools/modern-buildkit.sh`, which also installs buildx), with
 * its own containerd, data root and socket under a temporary directory. The tests that started it
 * stop it and remove everything it wrote.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { mountsUnder, unmountAll } from '../../src/runtime/mount.js';
import { referenceHost } from './buildkit.js';

const execFileAsync = promisify(execFile);
const PREFIX = process.env.PREFIX ?? '/opt/tsbuild-peers/docker-current';

export interface PrivateDocker {
  /** Runs the docker CLI against this engine (BuildKit's default attestations off). */
  docker(args: string[]): Promise<string>;
  version: string;
  stop(): Promise<void>;
}

/** Starts the engine, or says why it cannot run here. */
export async function startContainerdStoreDocker(): Promise<{ engine?: PrivateDocker; reason?: string }> {
  // The shared script makes sure the binaries and the buildx plugin are there.
  const shared = referenceHost();
  if (!shared.host) return { reason: shared.reason ?? 'no reference engine' };
  if (!existsSync(path.join(PREFIX, 'usr/sbin/dockerd'))) return { reason: `no dockerd under ${PREFIX}` };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-ctrd-docker-'));
  const run = path.join(dir, 'run');
  mkdirSync(run);
  const env = { ...process.env, PATH: `${PREFIX}/usr/bin:${PREFIX}/usr/sbin:/usr/sbin:/usr/bin:/sbin:/bin` };
  writeFileSync(
    path.join(dir, 'containerd.toml'),
    `version = 3\nroot = "${dir}/containerd"\nstate = "${run}/containerd"\n[grpc]\n  address = "${run}/containerd.sock"\n[ttrpc]\n  address = "${run}/containerd.sock.ttrpc"\n`,
  );
  writeFileSync(path.join(dir, 'daemon.json'), JSON.stringify({ features: { 'containerd-snapshotter': true } }));
  const containerd = spawn(path.join(PREFIX, 'usr/bin/containerd'), ['--config', path.join(dir, 'containerd.toml')], { env, stdio: 'ignore' });
  const dockerd = spawn(
    path.join(PREFIX, 'usr/sbin/dockerd'),
    [
      ...['--config-file', path.join(dir, 'daemon.json'), '--data-root', path.join(dir, 'docker'), '--exec-root', path.join(run, 'exec')],
      ...['--pidfile', path.join(run, 'dockerd.pid'), '-H', `unix://${run}/docker.sock`, '--containerd', `${run}/containerd.sock`],
      ...['--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--insecure-registry', '127.0.0.1'],
    ],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  dockerd.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const dockerEnv = { ...process.env, DOCKER_HOST: `unix://${run}/docker.sock`, BUILDX_NO_DEFAULT_ATTESTATIONS: '1' };
  const exited = (child: ReturnType<typeof spawn>): Promise<void> =>
    child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    dockerd.kill('SIGTERM');
    await exited(dockerd);
    containerd.kill('SIGTERM');
    await exited(containerd);
    await unmountAll(await mountsUnder(dir));
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      execFileSync('docker', ['info'], { env: dockerEnv, stdio: 'ignore' });
      break;
    } catch {
      if (dockerd.exitCode !== null || Date.now() > deadline) {
        await stop();
        return { reason: `dockerd with the containerd image store did not start: ${log.split('\n').slice(-3).join(' | ')}` };
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  const docker = async (args: string[]): Promise<string> => {
    try {
      return (await execFileAsync('docker', args, { env: dockerEnv, maxBuffer: 64 * 1024 * 1024 })).stdout;
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? (err as Error).message;
      throw new Error(`docker ${args.join(' ')} failed: ${stderr.trim().split('\n').slice(-3).join(' | ')}`, { cause: err });
    }
  };
  const version = `Docker Engine ${(await docker(['version', '--format', '{{.Server.Version}}'])).trim()} (containerd image store)`;
  return { engine: { docker, version, stop } };
}
