// Before/after for one change: two tsbuild checkouts (their bin/tsbuild.js) timed on the same
// scenario, interleaved run by run, so a machine shared with other work slows both alike. The
// scenario is the performance issue's edit-rebuild context, offline: 2,000 small files and one
// 50 MB file, `COPY . /data/` (FROM scratch, so no registry), then a cold build, a no-op rebuild
// and a rebuild after one small file changed, each as a command with its own state root.
//
//   node bench/ab.mjs /path/to/before /path/to/after [runs] [copy|run|edit]
//
// `run` times another scenario instead: examples/base's busybox image (from Debian's
// busybox-static) and a RUN writing 512 MiB of random bytes; its one-file change touches a context
// file no step reads, so that rebuild is a no-op too. `edit` times the edit loop of
// bench/edit-loop.mjs (a busybox base stage, `COPY . /data/`, then a RUN): its cold build comes
// after an untimed `--target base` into the fresh root. Every build gets `--network=none`, as the
// bench gives the peers (before 2026-11-29T12 the `run` scenario's RUN had its default network).
//
// Prints medians (and minimums) per checkout; `docs/performance.md` records what it printed.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSources } from './sources.mjs';
import { LIKE_THE_PEERS, tsbuildCommand } from './command.mjs';
import { makeTemplate } from './edit-loop.mjs';

/** The RUN scenario: examples/base's busybox image, then a RUN writing 512 MiB of random bytes. */
function makeRunContext(dir) {
  const base = readFileSync(new URL('../examples/base/Dockerfile', import.meta.url), 'utf8');
  copyFileSync('/bin/busybox', path.join(dir, 'busybox'));
  writeFileSync(path.join(dir, 'Dockerfile'), `${base}\nRUN head -c 536870912 /dev/urandom > /big\n`);
  writeFileSync(path.join(dir, 'small.txt'), 'x\n');
}

function makeContext(dir) {
  writeSources(dir, 2000, 1024);
  writeFileSync(path.join(dir, 'big.bin'), randomBytes(50 * 1024 * 1024));
  writeFileSync(path.join(dir, 'Dockerfile'), 'FROM scratch\nCOPY . /data/\n');
}

function build(checkout, root, context, extra = []) {
  execFileSync(tsbuildCommand(checkout), ['--root', root, 'build', '-q', ...LIKE_THE_PEERS, ...extra, '-t', 'ab:latest', context], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function timed(checkout, root, context) {
  const start = process.hrtime.bigint();
  build(checkout, root, context);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Times `before` and `after` (checkout directories) `runs` times each, interleaved; prints and returns the times. */
export function benchAB(before, after, runs = 5, scenario = 'copy') {
  const times = { [before]: { cold: [], noop: [], oneFile: [] }, [after]: { cold: [], noop: [], oneFile: [] } };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-bench-ab-'));
  try {
    const context = path.join(dir, 'ctx');
    mkdirSync(context);
    (({ run: makeRunContext, edit: makeTemplate })[scenario] ?? makeContext)(context);
    for (let r = 0; r < runs; r++) {
      // Alternate which goes first, so neither always meets a warmer page cache.
      for (const checkout of r % 2 === 0 ? [before, after] : [after, before]) {
        const root = path.join(dir, `root-${r}-${checkout === before ? 'before' : 'after'}`);
        const t = times[checkout];
        if (scenario === 'edit') build(checkout, root, context, ['--target', 'base']);
        t.cold.push(timed(checkout, root, context));
        t.noop.push(timed(checkout, root, context));
        writeFileSync(
          path.join(context, scenario === 'run' ? 'small.txt' : 'src/pkg0/file0.js'),
          `changed ${r} ${checkout === before ? 'b' : 'a'}\n`,
        );
        t.oneFile.push(timed(checkout, root, context));
        rmSync(root, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const show = (xs) => `${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)})`;
  const what =
    {
      run: 'busybox base + RUN writing 512 MiB',
      edit: 'the edit loop: busybox base stage, 2,000 small files + one 50 MB file, COPY . /data/, RUN',
    }[scenario] ?? '2,000 small files + one 50 MB file, COPY . /data/';
  console.log(`${what}; medians of ${runs}, interleaved`);
  for (const [name, label] of [
    [before, 'before'],
    [after, 'after'],
  ]) {
    const t = times[name];
    console.log(`  ${label.padEnd(7)} cold ${show(t.cold)}, no-op ${show(t.noop)}, one file changed ${show(t.oneFile)}   (${name})`);
  }
  console.log(JSON.stringify({ loadavg: os.loadavg(), cpus: os.cpus().length, runs, times }));
  return times;
}

// `node bench/ab.mjs BEFORE AFTER [runs]` runs it.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const [before, after, runs, scenario] = process.argv.slice(2);
  if (!before || !after) {
    console.error('usage: node bench/ab.mjs BEFORE_CHECKOUT AFTER_CHECKOUT [runs] [copy|run|edit]');
    process.exit(2);
  }
  benchAB(path.resolve(before), path.resolve(after), Number(runs ?? 5), scenario ?? 'copy');
}
