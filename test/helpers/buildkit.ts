/**
 * Current BuildKit as the reference builder: Docker Engine 28 with its built-in BuildKit and the
 * buildx plugin, started by `../shared/tools/modern-buildkit.sh` (through `scripts/reference-buildkit.sh`) on a private socket (idempotent:
 * an engine already running is reused; it is shared with other work on the machine, so it is never
 * stopped here and every image name carries this process's id). Builds run as a user runs them:
 * `docker buildx build --load --network=none --no-cache`, then `docker save`. `--no-cache` keeps
 * times comparable: a step cached by an earlier run would carry that run's times.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { isRoot } from './root.js';
import path from 'node:path';
import { projectRoot, sharedPath } from './shared.js';

const execFileAsync = promisify(execFile);

export interface ReferenceBuild {
  context: string;
  tag: string;
  dockerfile?: string;
  target?: string;
  buildArgs?: Record<string, string>;
  /** `--secret id=ID,src=FILE` */
  secrets?: Record<string, string>;
}

export interface ReferenceBuilder {
  /** `Docker Engine 28.5.2, buildx 0.29.1`, for messages. */
  version: string;
  docker(args: string[], options?: { cwd?: string }): Promise<string>;
  /** Builds with BuildKit and writes the image as `docker save` gives it to `archive`. */
  build(request: ReferenceBuild, archive: string): Promise<void>;
  /** Removes images this process tagged (never anything else). */
  remove(tags: string[]): Promise<void>;
}

const script = sharedPath('tools', 'modern-buildkit.sh');
/** Runs the shared script after restarting an engine whose containerd died. */
const wrapper = path.join(projectRoot, 'scripts', 'reference-buildkit.sh');

/**
 * The reference engine's `DOCKER_HOST`, started by the script when needed, or why it cannot run here
 * (not root, no script, or the engine would not start).
 */
export function referenceHost(): { host?: string; reason?: string } {
  if (!isRoot) return { reason: 'needs root' };
  if (!existsSync(script)) return { reason: `${script} is missing` };
  try {
    const out = execFileSync('bash', [wrapper], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
    const match = /export DOCKER_HOST=(\S+)/.exec(out);
    return match?.[1] ? { host: match[1] } : { reason: `${script} printed no DOCKER_HOST` };
  } catch (err) {
    return { reason: `${script} failed: ${(err as { stderr?: string }).stderr ?? (err as Error).message}` };
  }
}

/**
 * The reference builder, or undefined where it cannot run here (not root, no script, no docker
 * CLI, or the engine would not start); `reason` then says why.
 */
export function referenceBuilder(): { builder?: ReferenceBuilder; reason?: string } {
  const { host, reason } = referenceHost();
  if (!host) return { reason: reason ?? 'no reference engine' };
  const env = { ...process.env, DOCKER_HOST: host, DOCKER_BUILDKIT: '1', BUILDX_NO_DEFAULT_ATTESTATIONS: '1' };
  const docker = async (args: string[], options: { cwd?: string } = {}): Promise<string> => {
    try {
      const { stdout } = await execFileAsync('docker', args, { env, cwd: options.cwd, maxBuffer: 64 * 1024 * 1024 });
      return stdout;
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? (err as Error).message;
      throw new Error(`docker ${args.join(' ')} failed: ${stderr.trim().split('\n').slice(-3).join(' | ')}`, { cause: err });
    }
  };
  let version: string;
  try {
    const engine = execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { env, encoding: 'utf8' }).trim();
    const buildx = execFileSync('docker', ['buildx', 'version'], { env, encoding: 'utf8' }).trim().split(' ')[1] ?? '?';
    version = `Docker Engine ${engine}, buildx ${buildx}`;
  } catch (err) {
    return { reason: `the docker CLI or its buildx plugin does not answer: ${(err as Error).message}` };
  }
  const build = async (request: ReferenceBuild, archive: string): Promise<void> => {
    await docker([
      'buildx',
      'build',
      '--load',
      '--network=none',
      '--no-cache',
      '--provenance=false',
      '--progress=quiet',
      '-t',
      request.tag,
      ...(request.dockerfile ? ['-f', request.dockerfile] : []),
      ...(request.target ? ['--target', request.target] : []),
      ...Object.entries(request.buildArgs ?? {}).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
      ...Object.entries(request.secrets ?? {}).flatMap(([id, src]) => ['--secret', `id=${id},src=${src}`]),
      request.context,
    ]);
    await docker(['save', '-o', archive, request.tag]);
  };
  const remove = async (tags: string[]): Promise<void> => {
    if (tags.length > 0) await docker(['rmi', '--force', ...tags]).catch(() => '');
  };
  return { builder: { version, docker, build, remove } };
}
