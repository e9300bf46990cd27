// The performance issue's edit-rebuild loop, tsbuild beside current BuildKit and buildah in one
// run: a context of 2,000 small files and one 50 MB file, `COPY . /data/` and then one cheap RUN,
// timed as a cold build (base already there, steps not cached), a no-op rebuild and a rebuild after
// one small file of the context changed. Every builder is a command, the way users run it.
//
//   node bench/edit-loop.mjs [runs]          (default 5; BENCH_EDIT_RUNS for `npm run bench`)
//
// The base is offline and the same for all three: a `base` stage built FROM scratch from Debian's
// static busybox, so "base image already pulled" is that stage already in the builder's cache.
// Builders take turns round by round (the first one rotates), so load from other work on the
// machine hits all of them alike; the load average is recorded at the start and the end.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSources } from './sources.mjs';
import { startBuildah, startBuildKit } from './peers.mjs';
import { LIKE_THE_PEERS, tsbuildCommand } from './command.mjs';
import { benchTemp, settleDisk } from './scratch.mjs';

const DOCKERFILE = [
  'FROM scratch AS base',
  'COPY busybox /bin/busybox',
  'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
  'FROM base',
  'COPY . /data/',
  'RUN ls -R /data | wc -l > /count',
  '',
].join('\n');
const TAG = 'edit-loop:latest';
const BASE_TAG = 'edit-loop-base:latest';
const EDITED = 'src/pkg0/file0.js';

/** The template context: 2,000 files of 1,368 bytes (as bench/ab.mjs), a 50 MiB random big.bin, busybox. */
export function makeTemplate(dir) {
  writeSources(dir, 2000, 1024);
  writeFileSync(path.join(dir, 'big.bin'), randomBytes(50 * 1024 * 1024));
  copyFileSync('/bin/busybox', path.join(dir, 'busybox'));
  writeFileSync(path.join(dir, 'Dockerfile'), DOCKERFILE);
}

function timed(fn) {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const stats = (xs) => ({ minMs: Math.min(...xs), medianMs: [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] });

/**
 * tsbuild as the command. Its cold state is a fresh state root into which only the base stage was
 * built (`--target base`): no step cache, no stat cache and no copies of context files from an
 * earlier round, i.e. a developer's first build of this Dockerfile after pulling the base.
 */
function tsbuildBuilder() {
  let root;
  const run = (args) =>
    execFileSync(tsbuildCommand(), ['--root', root, 'build', '-q', ...LIKE_THE_PEERS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return {
    name: 'tsbuild (command)',
    prepare: (ctx, work) => {
      root = path.join(work, 'tsbuild-root');
      run(['--target', 'base', '-t', BASE_TAG, ctx]);
    },
    build: (ctx) => run(['-t', TAG, ctx]),
    stop: async () => {},
  };
}

/**
 * buildah (`bud --layers`, as bench/peers.mjs drives it). Cold state: a fresh storage root into
 * which only the base stage was built, as for tsbuild.
 */
function buildahBuilder(peer) {
  return {
    name: peer.name,
    prepare: (ctx) => {
      peer.reset();
      peer.build(ctx, BASE_TAG, ['--target', 'base']);
    },
    build: (ctx) => peer.build(ctx, TAG),
    stop: () => peer.stop(),
  };
}

/**
 * Current BuildKit (`docker buildx build --load --network=none`, as bench/peers.mjs drives it). Its
 * engine is shared with other work, so its cache cannot be emptied; the cold state comes from the
 * context instead: every round copies the context to a new directory (buildx keys its incremental
 * context transfer by the context's path, so all 52 MB are sent again) with a file of its own
 * (`nonce.txt`), so the cache keys of `COPY . /data/` and the RUN after it match nothing built
 * before, while the base stage, which reads only `busybox`, stays cached (the untimed `--target base`
 * build makes sure of it). The first build after start-up runs with --no-cache (peers.mjs), which
 * is that untimed base build. Images it loaded are removed (by name and by id) when it stops.
 */
function buildKitBuilder(peer) {
  return {
    name: peer.name,
    prepare: (ctx) => peer.build(ctx, BASE_TAG, ['--target', 'base']),
    build: (ctx) => peer.build(ctx, TAG),
    stop: () => peer.stop(),
  };
}

/** Runs the loop `runs` rounds; returns per builder the medians and minimums and every time. */
export async function benchEditLoop({ runs = Number(process.env.BENCH_EDIT_RUNS ?? 5) } = {}) {
  const loadStart = os.loadavg();
  const dir = benchTemp('tsbuild-bench-edit-');
  const builders = [tsbuildBuilder()];
  try {
    const template = path.join(dir, 'template');
    mkdirSync(template);
    makeTemplate(template);
    const buildKit = await startBuildKit();
    if (buildKit) builders.push(buildKitBuilder(buildKit));
    const buildah = startBuildah();
    if (buildah) builders.push(buildahBuilder(buildah));
    const times = Object.fromEntries(builders.map((b) => [b.name, { cold: [], noop: [], oneFileChanged: [] }]));
    for (let r = 0; r < runs; r++) {
      const order = builders.map((_, i) => builders[(i + r) % builders.length]);
      for (const builder of order) {
        // Each builder's round: its own copy of the context, at a path not used before.
        const work = path.join(dir, `round-${r}-${builders.indexOf(builder)}`);
        const ctx = path.join(work, 'ctx');
        cpSync(template, ctx, { recursive: true });
        writeFileSync(path.join(ctx, 'nonce.txt'), `${randomUUID()}\n`);
        // The round's directory (the context copy, tsbuild's state root) stays until the loop ends,
        // with the rest of `dir` (bench/scratch.mjs says why).
        builder.prepare(ctx, work);
        // The copy's and the base build's writes go to disk before the clock starts, and the disk
        // finishes what the round before left it (see `settleDisk`).
        settleDisk();
        const t = times[builder.name];
        t.cold.push(timed(() => builder.build(ctx)));
        t.noop.push(timed(() => builder.build(ctx)));
        writeFileSync(path.join(ctx, EDITED), `edited in round ${r} ${randomUUID()}\n`);
        t.oneFileChanged.push(timed(() => builder.build(ctx)));
      }
    }
    const results = {};
    for (const [name, t] of Object.entries(times)) {
      results[name] = { cold: stats(t.cold), noop: stats(t.noop), oneFileChanged: stats(t.oneFileChanged), times: t };
    }
    return {
      scenario: 'edit loop: 2,000 small files + one 50 MB file, COPY . /data/ then RUN',
      runs,
      loadavg: { start: loadStart, end: os.loadavg() },
      builders: results,
    };
  } finally {
    for (const builder of builders) await builder.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The lines `npm run bench` and this file print for a result. */
export function formatEditLoop(result) {
  const show = (s) => `${s.medianMs.toFixed(0)} ms (min ${s.minMs.toFixed(0)})`;
  const load = (xs) => xs.map((x) => x.toFixed(2)).join(' ');
  const lines = [
    `${result.scenario} (medians of ${result.runs}, builders interleaved; load average ${load(result.loadavg.start)} at the start, ${load(result.loadavg.end)} at the end):`,
  ];
  for (const [name, t] of Object.entries(result.builders)) {
    lines.push(`  ${name.padEnd(34)} cold ${show(t.cold)}, no-op ${show(t.noop)}, one file changed ${show(t.oneFileChanged)}`);
  }
  return lines.join('\n');
}

// `node bench/edit-loop.mjs [runs]` runs it alone (as root, after `npm run build`).
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const runs = process.argv[2] === undefined ? undefined : Number(process.argv[2]);
  if (runs !== undefined && !(Number.isInteger(runs) && runs > 0)) {
    console.error('usage: node bench/edit-loop.mjs [runs]   (runs: a positive integer)');
    process.exit(2);
  }
  const result = await benchEditLoop(runs === undefined ? {} : { runs });
  console.log(formatEditLoop(result));
  console.log(JSON.stringify(result));
}
