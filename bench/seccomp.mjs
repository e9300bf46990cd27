// What the RUN seccomp filter costs: `runc run` of `/bin/true` from a bundle whose config.json is
// tsbuild's own (toRuntimeSpec, sandbox mode), with the filter and with `linux.seccomp` removed,
// alternating (so that a busy machine slows both alike), 20 runs each after two warm-ups. Wall time
// (median) and CPU time (mean, from the kernel's accounting of reaped children, which a busy machine
// does not inflate). The difference is mostly runc compiling the profile with libseccomp, once per
// architecture it names.
//
//   npm run build && node bench/seccomp.mjs     (root; runc)
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { toRuntimeSpec } from '../dist/runtime/oci-spec.js';

const runs = Number(process.env.BENCH_RUNS ?? 20);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A bundle running /bin/true on a busybox rootfs; `filtered` keeps the seccomp filter. */
function bundle(dir, filtered) {
  const rootfs = path.join(dir, 'rootfs');
  for (const sub of ['bin', 'proc', 'dev', 'sys']) mkdirSync(path.join(rootfs, sub), { recursive: true });
  copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
  symlinkSync('busybox', path.join(rootfs, 'bin', 'true'));
  const spec = toRuntimeSpec(
    { args: ['/bin/true'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] } },
    // The runtime's own limit: RLIMIT_NOFILE may not exceed this process's hard limit.
    { rootfs, hostname: 'bench', networkNamespace: 'host', security: 'sandbox', mounts: [], maxOpenFiles: hardOpenFiles() },
  );
  if (!filtered) delete spec.linux.seccomp;
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
  return dir;
}

function hardOpenFiles() {
  return Number(/^Max open files\s+\S+\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 1024);
}

/**
 * CPU milliseconds this process's reaped children have used (cutime + cstime of /proc/self/stat,
 * in clock ticks of 10 ms): runc, its init and the container's process.
 */
function childrenCpuMs() {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  // After "pid (comm) ", field 3 (state) is index 0, so cutime (16) and cstime (17) are 13 and 14.
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/** Wall and CPU milliseconds of one `runc run`. */
function runcRun(dir, state, id) {
  const start = process.hrtime.bigint();
  const cpu = childrenCpuMs();
  return new Promise((resolve, reject) => {
    const child = spawn('runc', ['--root', state, 'run', '--bundle', dir, id], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve({ wallMs: Number(process.hrtime.bigint() - start) / 1e6, cpuMs: childrenCpuMs() - cpu })
        : reject(new Error(`runc exited ${code}`)),
    );
  });
}

export async function benchSeccomp() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-bench-seccomp-'));
  try {
    const state = path.join(dir, 'state');
    const filtered = bundle(path.join(dir, 'filtered'), true);
    const unfiltered = bundle(path.join(dir, 'unfiltered'), false);
    const times = { filtered: [], unfiltered: [] };
    // Two warm-up rounds (negative i) are not counted.
    for (let i = -2; i < runs; i++) {
      const a = await runcRun(filtered, state, `bench-seccomp-${process.pid}-f${i}`);
      const b = await runcRun(unfiltered, state, `bench-seccomp-${process.pid}-u${i}`);
      if (i < 0) continue;
      times.filtered.push(a);
      times.unfiltered.push(b);
    }
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const summary = (xs) => ({ wallMedianMs: median(xs.map((x) => x.wallMs)), cpuMeanMs: mean(xs.map((x) => x.cpuMs)) });
    return { scenario: 'seccomp: runc run /bin/true', runs, withFilter: summary(times.filtered), withoutFilter: summary(times.unfiltered) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await benchSeccomp();
  const line = (key) =>
    `${r.withFilter[key].toFixed(1)} ms with the filter, ${r.withoutFilter[key].toFixed(1)} ms without (+${(r.withFilter[key] - r.withoutFilter[key]).toFixed(1)} ms)`;
  console.log(`${r.scenario}, ${r.runs} runs: wall (median) ${line('wallMedianMs')}; CPU (mean) ${line('cpuMeanMs')}`);
}
