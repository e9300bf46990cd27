// The peers tsbuild is measured beside, where installed: current BuildKit (Docker Engine 28 with
// its built-in BuildKit and the buildx plugin, the engine ../shared/tools/modern-buildkit.sh starts
// on a private socket; `docker buildx build --load --network=none`) and buildah (its own storage
// root, --layers so it caches steps). Each builder is driven as a command, the way users run it,
// and timed as a whole.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchTemp, spreadDirectory } from './scratch.mjs';

const script = fileURLToPath(new URL('../../shared/tools/modern-buildkit.sh', import.meta.url));
// Runs the shared script after restarting an engine whose containerd died.
const wrapper = fileURLToPath(new URL('../scripts/reference-buildkit.sh', import.meta.url));

/**
 * Current BuildKit; undefined when the engine cannot be started here (not root, no script, no
 * docker CLI). The engine is shared with other work on the machine, so nothing global is pruned
 * while the bench runs (its build cache is bounded at the end, `stop`):
 * `reset()` removes only the images this bench named or loaded (by the ids `-q` printed, so the
 * images a re-used name left untagged go too), and the next build runs with --no-cache (cold steps;
 * base blobs BuildKit already holds are not fetched again).
 */
export async function startBuildKit() {
  if (process.getuid?.() !== 0 || !existsSync(script)) return undefined;
  const started = spawnSync('bash', [wrapper], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const host = /export DOCKER_HOST=(\S+)/.exec(started.stdout ?? '')?.[1];
  if (started.status !== 0 || !host) {
    console.error(`bench: current BuildKit not available: ${(started.stderr ?? '').trim().split('\n').pop()}`);
    return undefined;
  }
  const env = { ...process.env, DOCKER_HOST: host, BUILDX_NO_DEFAULT_ATTESTATIONS: '1' };
  const docker = (args) => execFileSync('docker', args, { env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 26 });
  const engine = docker(['version', '--format', '{{.Server.Version}}']).trim();
  // Where the engine makes a directory per layer and snapshot (`overlay2` with the classic store).
  const [rootDir, driver] = docker(['info', '--format', '{{.DockerRootDir}} {{.Driver}}']).trim().split(' ');
  if (rootDir && driver === 'overlay2') spreadDirectory(path.join(rootDir, 'overlay2'));
  const buildx = docker(['buildx', 'version']).trim().split(' ')[1];
  const named = new Set();
  const loaded = new Set();
  const forget = () => {
    if (named.size > 0) spawnSync('docker', ['rmi', '--force', ...named], { env, stdio: 'ignore' });
    if (loaded.size > 0) spawnSync('docker', ['rmi', ...loaded], { env, stdio: 'ignore' });
    named.clear();
    loaded.clear();
  };
  let cold = true;
  // Local names carry this process's id: other work on the shared engine may use the same ones.
  const own = (tag) => (tag.includes('/') ? tag : `tsbuild-bench-${process.pid}-${tag}`);
  return {
    name: `BuildKit (Docker ${engine}, buildx ${buildx})`,
    build: (context, tag, args = []) => {
      named.add(own(tag));
      const out = docker([
        'buildx',
        'build',
        '--load',
        '--network=none',
        '--provenance=false',
        '-q',
        ...(cold ? ['--no-cache'] : []),
        '-t',
        own(tag),
        ...args,
        context,
      ]);
      cold = false;
      const id = /sha256:[0-9a-f]{64}/.exec(out)?.[0];
      if (id) loaded.add(id);
      return out;
    },
    pull: (ref) => (named.add(ref), docker(['pull', '-q', ref])),
    push: (ref) => docker(['push', '-q', ref]),
    /** Forgets this bench's images; the next build runs every step. */
    reset: () => {
      forget();
      cold = true;
    },
    // Every bench adds 6-10 GB of build cache to the shared engine, and it filled this disk once
    // (60.7 GB): at the end the cache is cut to its most recently used BENCH_PEER_CACHE_MAX (10GB),
    // which leaves other work on the engine cache it used lately and keeps the bench's disk bounded.
    stop: async () => {
      forget();
      spawnSync('docker', ['buildx', 'prune', '--force', '--max-used-space', process.env.BENCH_PEER_CACHE_MAX ?? '10GB'], { env, stdio: 'ignore' });
    },
  };
}

/** buildah with a storage root of its own; undefined when not installed. */
export function startBuildah() {
  if (!existsSync('/usr/bin/buildah')) return undefined;
  let dir = benchTemp('tsbuild-bench-buildah-');
  const used = [];
  const global = (of = dir) => ['--root', path.join(of, 'root'), '--runroot', path.join(of, 'run'), '--storage-driver', 'overlay'];
  const version = execFileSync('/usr/bin/buildah', ['--version'], { encoding: 'utf8' }).trim().split(' ')[2];
  // Where buildah makes a directory per layer and container, spread before its first use.
  const spread = (of) => spreadDirectory(path.join(of, 'root', 'overlay'));
  spread(dir);
  const buildah = (args) =>
    execFileSync('/usr/bin/buildah', [...global(), ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 26 });
  const clear = (of) => {
    spawnSync('/usr/bin/buildah', [...global(of), 'rm', '--all'], { stdio: 'ignore' });
    spawnSync('/usr/bin/buildah', [...global(of), 'rmi', '--all', '--force'], { stdio: 'ignore' });
    spawnSync('umount', ['-R', path.join(of, 'root', 'overlay')], { stdio: 'ignore' });
  };
  return {
    name: `buildah ${version}`,
    build: (context, tag, args = []) => buildah(['bud', '--tls-verify=false', '--layers', '--network=none', '-q', '-t', tag, ...args, context]),
    pull: (ref) => buildah(['pull', '--tls-verify=false', '-q', ref]),
    push: (ref) => buildah(['push', '--tls-verify=false', '-q', ref]),
    // A new, empty storage root; the old ones are removed when buildah stops (bench/scratch.mjs).
    reset: () => {
      used.push(dir);
      dir = benchTemp('tsbuild-bench-buildah-');
      spread(dir);
    },
    stop: async () => {
      for (const old of [...used.splice(0), dir]) {
        clear(old);
        rmSync(old, { recursive: true, force: true });
      }
    },
  };
}
