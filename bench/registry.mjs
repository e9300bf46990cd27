// Scenarios that need a registry: a real `docker-registry` on 127.0.0.1 with a busybox base that
// tsbuild builds from Debian's static busybox and pushes there; every builder pulls that base from
// it. Scenarios: four independent stages of `sleep 2` (parallelism), a 2,000-file + 50 MB context
// copied into an image, a RUN writing 1.5 GiB (layer export: the size the performance issue's table
// names; BENCH_EXPORT_MB, a multiple of 16, overrides it), pull of a 100 MB base, push of a 200 MB
// image. tsbuild runs as a command, as do BuildKit and buildah where installed.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startBuildah, startBuildKit } from './peers.mjs';
import { runcOverlayFloor } from './floors.mjs';
import { LIKE_THE_PEERS, tsbuildCommand } from './command.mjs';
import { benchTemp, settleDisk } from './scratch.mjs';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const exportMiB = Number(process.env.BENCH_EXPORT_MB ?? 1536);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const tsbuild = (root, args) => execFileSync(tsbuildCommand(), ['--root', root, ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

function timeMs(fn) {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const stats = (xs) => ({ minMs: Math.min(...xs), medianMs: [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] });

async function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startRegistry(dir) {
  const port = await freePort();
  const config = path.join(dir, 'registry.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(dir, 'registry')}\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`http://127.0.0.1:${port}/v2/`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await sleep(50);
  }
  return { host: `127.0.0.1:${port}`, stop: async () => (child.kill('SIGTERM'), await new Promise((r) => child.once('exit', r))) };
}

/** Writes a context: a Dockerfile and files. */
function context(dir, dockerfile, files = {}) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
  for (const [name, data] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), data);
  }
  return dir;
}

/**
 * A builder as a set of commands: build (cold each run), pull, push. A build scenario's cold state
 * is what BuildKit's is after its reset: the base image already there (pulled into the fresh state
 * root before the clock starts) and `--no-cache`, the definition of these scenarios.
 */
function tsbuildBuilder(dir, rss) {
  let n = 0;
  let root;
  return {
    name: 'tsbuild',
    reset: () => (root = path.join(dir, `root-${n++}`)),
    // `FROM ref` built once: the base pulled and unpacked, as the peers' engines hold it.
    withBase: (ref) =>
      execFileSync(tsbuildCommand(), ['--root', root, 'build', '-q', '-'], { input: `FROM ${ref}\n`, stdio: ['pipe', 'pipe', 'pipe'] }),
    // Under GNU time, for the peak RSS of the tsbuild process (not its containers).
    build: (ctx, tag) => {
      const file = path.join(dir, 'rss');
      execFileSync(
        '/usr/bin/time',
        ['-f', '%M', '-o', file, tsbuildCommand(), '--root', root, 'build', '-q', '--no-cache', ...LIKE_THE_PEERS, '-t', tag, ctx],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      rss.push({ tag, kiB: Number(readFileSync(file, 'utf8').trim().split('\n').pop()) });
    },
    pull: (ref) => tsbuild(root, ['pull', '-q', ref]),
    push: (ref) => tsbuild(root, ['push', '-q', ref]),
  };
}

export async function benchRegistry() {
  const dir = benchTemp('tsbuild-bench-reg-');
  const registry = await startRegistry(dir);
  const peers = [];
  try {
    // The base: busybox, built and pushed by tsbuild.
    const setup = path.join(dir, 'setup-root');
    const bb = context(path.join(dir, 'bb'), 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n');
    copyFileSync('/bin/busybox', path.join(bb, 'busybox'));
    const base = `${registry.host}/busybox:1`;
    tsbuild(setup, ['build', '-q', '-t', base, '--push', bb]);
    // A 100 MB base for the pull scenario.
    const big = context(path.join(dir, 'big'), `FROM ${base}\nCOPY blob /blob\n`, { blob: randomBytes(100 * 1000 * 1000) });
    const bigRef = `${registry.host}/big:1`;
    tsbuild(setup, ['build', '-q', '-t', bigRef, '--push', big]);

    const exportCommand = `for i in $(seq 1 ${exportMiB / 16}); do head -c 8388608 /dev/urandom > /f$i; yes "the quick brown fox" | head -c 8388608 >> /f$i; done`;
    const scenarios = {
      parallel: context(
        path.join(dir, 'parallel'),
        [
          `FROM ${base} AS a`,
          'RUN sleep 2 && echo a > /a',
          `FROM ${base} AS b`,
          'RUN sleep 2 && echo b > /b',
          `FROM ${base} AS c`,
          'RUN sleep 2 && echo c > /c',
          `FROM ${base} AS d`,
          'RUN sleep 2 && echo d > /d',
          `FROM ${base}`,
          'COPY --from=a /a /',
          'COPY --from=b /b /',
          'COPY --from=c /c /',
          'COPY --from=d /d /',
        ].join('\n'),
      ),
      context: context(
        path.join(dir, 'ctx'),
        `FROM ${base}\nCOPY . /ctx/\n`,
        Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`d${i % 40}/s${i % 7}/f${i}.bin`, randomBytes(26214)])),
      ),
      export: context(path.join(dir, 'export'), `FROM ${base}\nRUN ${exportCommand}\n`),
    };

    const rss = [];
    const builders = [tsbuildBuilder(dir, rss)];
    for (const start of [startBuildKit, startBuildah]) {
      const peer = await start();
      if (peer) {
        peers.push(peer);
        builders.push(peer);
      }
    }
    // The build scenarios take turns: each run of a scenario times every builder once, the first
    // builder rotating, after a `sync` and once the disks are idle (`settleDisk`), so no builder
    // inherits another's (or its own previous run's) writeback of gigabytes, and none always goes
    // first on a machine the setup just loaded.
    // The export RUN's floor takes its turn with them: its command in runc alone (bench/floors.mjs).
    const times = Object.fromEntries(builders.map((b) => [b.name, Object.fromEntries(Object.keys(scenarios).map((name) => [name, []]))]));
    const floorTimes = [];
    const floor = runcOverlayFloor(path.join(dir, 'floor'));
    const runAlone = { name: 'runc alone', reset: () => {}, build: () => floorTimes.push(floor.time(exportCommand)) };
    for (const [name, ctx] of Object.entries(scenarios)) {
      const turns = name === 'export' ? [...builders, runAlone] : builders;
      for (let r = 0; r < runs; r++) {
        for (let i = 0; i < turns.length; i++) {
          const builder = turns[(i + r) % turns.length];
          await builder.reset();
          builder.withBase?.(base);
          settleDisk();
          if (builder === runAlone) runAlone.build();
          else times[builder.name][name].push(timeMs(() => builder.build(ctx, `bench-${name}:1`)));
        }
      }
    }
    const results = {};
    for (const builder of builders) {
      const row = Object.fromEntries(Object.entries(times[builder.name]).map(([name, xs]) => [name, stats(xs)]));
      const pulls = [];
      const pushes = [];
      for (let r = 0; r < runs; r++) {
        await builder.reset();
        execFileSync('sync');
        pulls.push(timeMs(() => builder.pull(bigRef)));
        // Push 200 MB: the pulled 100 MB base plus a fresh 100 MB layer, to a new repository.
        const ctx = context(path.join(dir, `push-${builder.name.split(' ')[0]}-${r}`), `FROM ${bigRef}\nCOPY more /more\n`, {
          more: randomBytes(100 * 1000 * 1000),
        });
        const target = `${registry.host}/pushed-${builder.name.split(' ')[0].toLowerCase()}-${r}:1`;
        builder.build(ctx, target);
        execFileSync('sync');
        pushes.push(timeMs(() => builder.push(target)));
        rmSync(ctx, { recursive: true, force: true });
      }
      row.pull100MB = stats(pulls);
      row.push200MB = stats(pushes);
      // Every run's time, in the order run: the medians hide how far apart runs were.
      row.times = { ...times[builder.name], pull100MB: pulls, push200MB: pushes };
      results[builder.name] = row;
    }
    const peakRssMiB = (tag) => Math.max(...rss.filter((r) => r.tag === tag).map((r) => r.kiB)) / 1024;
    return {
      scenario: 'registry scenarios (local docker-registry)',
      runs,
      exportMiB,
      builders: results,
      // The export RUN's command in runc alone on an overlay, nothing of a builder around it.
      exportFloor: { ...stats(floorTimes), times: floorTimes },
      tsbuildPeakRssMiB: { export: peakRssMiB('bench-export:1'), context: peakRssMiB('bench-context:1'), parallel: peakRssMiB('bench-parallel:1') },
    };
  } finally {
    for (const peer of peers) await peer.stop();
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
