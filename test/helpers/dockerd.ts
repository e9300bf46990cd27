/**
 * A private Docker daemon (Debian's `docker.io`) as the BuildKit oracle: its own data and exec
 * roots and socket under a temp dir, no bridge and no iptables, so nothing leaves loopback. Builds go
 * through Debian's client `/usr/bin/docker` with `DOCKER_BUILDKIT=1` and `--network=none`.
 * `stop()` ends the daemon (and the containerd it started) and removes everything.
 *
 * `modernDockerHost()` gives instead the shared current engine (Docker Engine 28 + buildx) that
 * `../shared/tools/modern-buildkit.sh` runs, for comparisons with today's BuildKit.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { isRoot } from './root.js';
import { projectRoot, sharedPath } from './shared.js';

const execFileAsync = promisify(execFile);

export const dockerdAvailable = isRoot && existsSync('/usr/sbin/dockerd') && existsSync('/usr/bin/docker');

export interface TestDockerd {
  /** Runs Debian's docker client against this daemon; resolves to stdout. */
  docker(args: string[], options?: { cwd?: string }): Promise<string>;
  stop(): Promise<void>;
}

export async function startDockerd(options: { mirror?: string } = {}): Promise<TestDockerd> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-dockerd-'));
  const socket = path.join(dir, 'docker.sock');
  const child = spawn(
    '/usr/sbin/dockerd',
    [
      '--data-root',
      path.join(dir, 'data'),
      '--exec-root',
      path.join(dir, 'exec'),
      '--pidfile',
      path.join(dir, 'dockerd.pid'),
      '-H',
      `unix://${socket}`,
      '--bridge=none',
      '--iptables=false',
      '--ip6tables=false',
      ...(options.mirror ? ['--registry-mirror', options.mirror] : []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_BUILDKIT: '1', DOCKER_CONFIG: path.join(dir, 'client') };
  const docker = async (args: string[], opts: { cwd?: string } = {}): Promise<string> => {
    const { stdout } = await execFileAsync('/usr/bin/docker', args, { env, cwd: opts.cwd, maxBuffer: 64 * 1024 * 1024 }).catch(
      (err: { stderr?: string; message: string }) => {
        throw new Error(`docker ${args.join(' ')} failed: ${err.stderr ?? err.message}`);
      },
    );
    return stdout;
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (
      existsSync(socket) &&
      (await docker(['info', '--format', '{{.ServerVersion}}']).then(
        () => true,
        () => false,
      ))
    )
      break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`dockerd did not start: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { docker, stop };
}

const MODERN_BUILDKIT = sharedPath('tools', 'modern-buildkit.sh');

/** Current BuildKit (Docker Engine 28 + buildx) can be started: root, the shared script and a docker CLI. */
export const modernBuildKitAvailable =
  isRoot && existsSync(MODERN_BUILDKIT) && (process.env.PATH ?? '').split(':').some((dir) => existsSync(path.join(dir, 'docker')));

/**
 * The DOCKER_HOST of the shared engine that `../shared/tools/modern-buildkit.sh` starts (or finds
 * running: the call is idempotent). Other developers use the same engine, so tests give their
 * builds local outputs and leave no images in it; the engine is never stopped here.
 */
export async function modernDockerHost(): Promise<string> {
  const { stdout } = await execFileAsync('bash', [path.join(projectRoot, 'scripts', 'reference-buildkit.sh')], { timeout: 600_000 });
  const host = /^export DOCKER_HOST=(\S+)$/m.exec(stdout)?.[1];
  if (!host) throw new Error(`modern-buildkit.sh printed no DOCKER_HOST: ${stdout}`);
  return host;
}
