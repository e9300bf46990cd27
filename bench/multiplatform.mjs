// A two-platform build (linux/amd64 and linux/arm64): a context stage on the build platform shared
// by both, and a final stage per platform that copies from it and from the context. Built offline
// (FROM scratch: no emulator and no registry involved), cold (no cache) and unchanged a second
// time. tsbuild's command (`--platform a,b`, the index into its store) is timed beside BuildKit
// and buildah, where they run here. BuildKit builds several platforms only with the containerd
// image store, so this starts a private Engine 28 with it (the shared engine uses overlay2) and
// `--load`s into it; buildah builds `--platform a,b --manifest NAME`.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSources } from './sources.mjs';
import { startBuildKit } from './peers.mjs';
import { tsbuildCommand } from './command.mjs';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const PLATFORMS = 'linux/amd64,linux/arm64';
const PREFIX = process.env.PREFIX ?? '/opt/tsbuild-peers/docker-current';

function makeContext(dir) {
  writeSources(dir, 500);
  writeFileSync(path.join(dir, 'config.json'), '{"version": 1}\n');
  writeFileSync(
    path.join(dir, 'Dockerfile'),
    [
      'FROM --platform=$BUILDPLATFORM scratch AS assets',
      'COPY src /src',
      'FROM scratch',
      'ARG TARGETARCH',
      'COPY --from=assets /src /app/src',
      'COPY config.json /app/config-${TARGETARCH}.json',
    ].join('\n'),
  );
}

/** A private Docker Engine with the containerd image store; undefined where it cannot start. */
async function startContainerdBuildKit() {
  // The shared script unpacks the engine and installs buildx; its own engine is left alone.
  if (!(await startBuildKit())) return undefined;
  if (!existsSync(path.join(PREFIX, 'usr/sbin/dockerd'))) return undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-bench-ctrd-'));
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
    ['--config-file', path.join(dir, 'daemon.json'), '--data-root', path.join(dir, 'docker'), '--exec-root', path.join(run, 'exec')]
      .concat(['--pidfile', path.join(run, 'dockerd.pid'), '-H', `unix://${run}/docker.sock`, '--containerd', `${run}/containerd.sock`])
      .concat(['--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-masq=false']),
    { env, stdio: 'ignore' },
  );
  const dockerEnv = { ...process.env, DOCKER_HOST: `unix://${run}/docker.sock`, BUILDX_NO_DEFAULT_ATTESTATIONS: '1' };
  const docker = (args) => execFileSync('docker', args, { env: dockerEnv, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const exited = (child) => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r)));
  const stop = async () => {
    dockerd.kill('SIGTERM');
    await exited(dockerd);
    containerd.kill('SIGTERM');
    await exited(containerd);
    spawnSync('sh', ['-c', `grep -o " ${dir}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount`], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    if (spawnSync('docker', ['info'], { env: dockerEnv, stdio: 'ignore' }).status === 0) break;
    if (dockerd.exitCode !== null || i > 240) {
      await stop();
      return undefined;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const version = docker(['version', '--format', '{{.Server.Version}}']).trim();
  let cold = true;
  return {
    name: `BuildKit (Docker ${version}, containerd image store)`,
    build: (context) => {
      docker([
        'buildx',
        'build',
        '--load',
        '--network=none',
        '--provenance=false',
        '-q',
        '--platform',
        PLATFORMS,
        ...(cold ? ['--no-cache'] : []),
        '-t',
        'mp:1',
        context,
      ]);
      cold = false;
    },
    reset: () => {
      spawnSync('docker', ['rmi', '--force', 'mp:1'], { env: dockerEnv, stdio: 'ignore' });
      spawnSync('docker', ['builder', 'prune', '--all', '--force'], { env: dockerEnv, stdio: 'ignore' });
      cold = true;
    },
    stop,
  };
}

function startTsbuild() {
  let root = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-bench-mp-'));
  return {
    name: 'tsbuild (command)',
    build: (context) =>
      execFileSync(
        tsbuildCommand(),
        ['--root', root, 'build', '--progress', 'quiet', '--network', 'none', '--platform', PLATFORMS, '-t', 'mp:1', context],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      ),
    reset: () => {
      rmSync(root, { recursive: true, force: true });
      root = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-bench-mp-'));
    },
    stop: async () => rmSync(root, { recursive: true, force: true }),
  };
}

function startBuildahManifest() {
  if (!existsSync('/usr/bin/buildah')) return undefined;
  let dir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-bench-mp-buildah-'));
  const global = () => ['--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'run'), '--storage-driver', 'overlay'];
  const version = execFileSync('/usr/bin/buildah', ['--version'], { encoding: 'utf8' }).trim().split(' ')[2];
  const clear = () => {
    spawnSync('/usr/bin/buildah', [...global(), 'rm', '--all'], { stdio: 'ignore' });
    spawnSync('/usr/bin/buildah', [...global(), 'rmi', '--all', '--force'], { stdio: 'ignore' });
    spawnSync('umount', ['-R', path.join(dir, 'root', 'overlay')], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  let n = 0;
  return {
    name: `buildah ${version}`,
    // A new manifest name each time: buildah adds to an existing list instead of replacing it.
    build: (context) =>
      execFileSync(
        '/usr/bin/buildah',
        [...global(), 'bud', '--layers', '--network=none', '-q', '--platform', PLATFORMS, '--manifest', `mp:${++n}`, context],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      ),
    reset: () => {
      clear();
      dir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-bench-mp-buildah-'));
    },
    stop: async () => clear(),
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function timeMs(fn) {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Cold and unchanged two-platform builds, `runs` times per builder. */
export async function benchMultiPlatform() {
  const builders = {};
  const peers = [startTsbuild(), await startContainerdBuildKit(), startBuildahManifest()].filter(Boolean);
  try {
    for (const builder of peers) {
      const cold = [];
      const warm = [];
      for (let r = 0; r < runs; r++) {
        const dir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-bench-mp-ctx-'));
        try {
          makeContext(dir);
          builder.reset();
          cold.push(timeMs(() => builder.build(dir)));
          warm.push(timeMs(() => builder.build(dir)));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
      builders[builder.name] = {
        coldMedianMs: median(cold),
        coldMinMs: Math.min(...cold),
        unchangedMedianMs: median(warm),
        unchangedMinMs: Math.min(...warm),
      };
    }
  } finally {
    for (const builder of peers) await builder.stop();
  }
  return { scenario: `two-platform build (${PLATFORMS}), 500-file context`, runs, builders };
}

/** The scenario's lines for the console. */
export function formatMultiPlatform(result) {
  const ours = result.builders['tsbuild (command)'];
  const lines = [`${result.scenario} (medians of ${result.runs}; ratio = peer / tsbuild):`];
  for (const [name, t] of Object.entries(result.builders)) {
    const ratio = (key) => (name.startsWith('tsbuild') ? '' : ` (${(t[key] / ours[key]).toFixed(1)}x)`);
    lines.push(
      `  ${name.padEnd(56)} cold ${t.coldMedianMs.toFixed(0)} ms${ratio('coldMedianMs')}, unchanged ${t.unchangedMedianMs.toFixed(0)} ms${ratio('unchangedMedianMs')}`,
    );
  }
  return lines.join('\n');
}

// `node bench/multiplatform.mjs` runs this scenario alone.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  console.log(formatMultiPlatform(await benchMultiPlatform()));
}
