// Floors: what the machine costs before any builder work. Node's start-up (`node -e 0`, with this
// environment and without the extra CA bundle NODE_EXTRA_CA_CERTS may name), and runc alone: four
// containers of `sleep 2` at once from one prepared busybox bundle (no mounts, no layers, no
// builder). The no-op and parallel targets are read against these. `runcOverlayFloor` is the floor
// of one RUN, timed by the registry scenarios beside the builders (bench/registry.mjs).
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const stats = (xs) => ({ minMs: Math.min(...xs), medianMs: [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] });

function timeMs(fn) {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function timeAsync(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function nodeStartup(env) {
  const times = [];
  for (let i = 0; i < 11; i++) times.push(timeMs(() => execFileSync(process.execPath, ['-e', '0'], { env })));
  return stats(times);
}

/** A bundle whose process is `args`, on a busybox rootfs. */
function bundle(dir, args) {
  const rootfs = path.join(dir, 'rootfs');
  mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
  for (const tool of ['sleep', 'true', 'sh']) symlinkSync('busybox', path.join(rootfs, 'bin', tool));
  writeSpec(dir, args, { path: rootfs, readonly: true });
  return dir;
}

/** `runc spec`'s default config.json in `dir`, running `args` without a terminal on `root`. */
function writeSpec(dir, args, root) {
  execFileSync('runc', ['spec'], { cwd: dir });
  const spec = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
  spec.process.terminal = false;
  spec.process.args = args;
  spec.root = root;
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
}

async function runcParallel(dir, count, state) {
  await Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise((resolve, reject) => {
          const child = spawn('runc', ['--root', state, 'run', '--bundle', dir, `bench-floor-${process.pid}-${i}`], { stdio: 'ignore' });
          child.once('error', reject);
          child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`runc exited ${code}`))));
        }),
    ),
  );
}

/**
 * The floor of a RUN on this machine: its shell command in runc alone, on an overlay mount of a
 * busybox rootfs (what every builder here gives a RUN), timed from the mount to the unmount (which
 * writes back what the container wrote, as it does for every builder that unmounts), with nothing
 * of a builder around it: no seccomp filter, no layer, no image. Without the filter the floor is
 * if anything lower than a sandboxed builder's. `time(command)` returns milliseconds; `dir` is made
 * and left to the caller to remove. It takes its turn in the registry scenarios' rotation, so that
 * it meets the same disk as the builders it is compared with.
 */
export function runcOverlayFloor(dir) {
  const lower = path.join(dir, 'lower');
  mkdirSync(path.join(lower, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', path.join(lower, 'bin', 'busybox'));
  for (const applet of execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    if (applet !== 'busybox') symlinkSync('busybox', path.join(lower, 'bin', applet));
  }
  for (const name of ['dev', 'proc', 'sys', 'tmp']) mkdirSync(path.join(lower, name));
  const state = path.join(dir, 'state');
  let n = 0;
  return {
    time(command) {
      const run = path.join(dir, `run-${n++}`);
      const [upper, work, merged] = ['upper', 'work', 'merged'].map((name) => path.join(run, name));
      for (const d of [upper, work, merged]) mkdirSync(d, { recursive: true });
      writeSpec(run, ['/bin/sh', '-c', command], { path: merged, readonly: false });
      const start = process.hrtime.bigint();
      execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
      try {
        execFileSync('runc', ['--root', state, 'run', '--bundle', run, `bench-floor-${process.pid}-${n}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      } finally {
        execFileSync('umount', [merged]);
      }
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      rmSync(run, { recursive: true, force: true });
      return ms;
    },
  };
}

export async function benchFloors() {
  const withEnv = nodeStartup(process.env);
  const withoutCa = nodeStartup({ ...process.env, NODE_EXTRA_CA_CERTS: '' });
  const result = {
    scenario: 'floors',
    runs,
    nodeStartup: withEnv,
    nodeStartupWithoutExtraCa: withoutCa,
    nodeExtraCaCerts: process.env.NODE_EXTRA_CA_CERTS ?? null,
  };
  if (process.getuid?.() !== 0) return result;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-bench-floor-'));
  try {
    const state = path.join(dir, 'state');
    const sleeper = bundle(path.join(dir, 'sleep'), ['/bin/sleep', '2']);
    const one = bundle(path.join(dir, 'true'), ['/bin/true']);
    const single = [];
    const four = [];
    for (let r = 0; r < runs; r++) {
      single.push(await timeAsync(() => runcParallel(one, 1, state)));
      four.push(await timeAsync(() => runcParallel(sleeper, 4, state)));
    }
    return { ...result, runcTrue: stats(single), runcFourSleep2: stats(four) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
