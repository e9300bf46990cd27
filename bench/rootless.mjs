// Rootless against root (issue 20): the build scenario of build.mjs (3 stages, 500-file context:
// cold, no-op, one file changed) as the command, once as root and once as an unprivileged user
// made for the run (`useradd`, with Debian's default subordinate range; removed afterwards with its
// files). The user's command enters a user namespace (unshare + newuidmap) before it builds, so
// the difference is that start-up plus whatever overlay with `userxattr` and the mapped ids cost.
// Plus a `tsbuild du`, the smallest command that enters the namespace, against root's.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeContext } from './build.mjs';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const stats = (xs) => ({ minMs: Math.min(...xs), medianMs: [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] });
const bin = path.resolve('bin/tsbuild.js');

function timed(command) {
  const start = process.hrtime.bigint();
  execFileSync(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** cold / no-op / one-file-changed `runs` times; `as(args)` makes the command line, `base` holds the dirs. */
function scenario(base, as, prepare) {
  const out = { cold: [], noop: [], oneFileChanged: [], du: [] };
  for (let r = 0; r < runs; r++) {
    const dir = mkdtempSync(path.join(base, 'tsbuild-bench-rootless-'));
    try {
      const context = path.join(dir, 'ctx');
      mkdirSync(context);
      makeContext(context);
      prepare(dir);
      const root = path.join(dir, 'root');
      const build = () => timed(as(['--root', root, 'build', '-q', '--network=none', '-t', 'bench:latest', context]));
      out.cold.push(build());
      out.noop.push(build());
      writeFileSync(path.join(context, 'config.json'), '{"version": 2}\n');
      prepare(dir);
      out.oneFileChanged.push(build());
      out.du.push(timed(as(['--root', root, 'du'])));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, stats(v)]));
}

export async function benchRootless() {
  if (process.getuid?.() !== 0) return undefined;
  const user = `tsbuild-rl-${randomBytes(4).toString('hex')}`;
  const home = path.join('/tmp', user);
  execFileSync('useradd', ['-m', '-d', home, '-U', user]);
  try {
    // Both through runuser with the same clean environment, so only the user differs.
    const as = (who, dir) => (args) => [
      'runuser',
      '-u',
      who,
      '--',
      'env',
      '-i',
      'PATH=/usr/bin:/bin:/usr/sbin:/sbin',
      `HOME=${dir}`,
      `TMPDIR=${dir}`,
      process.execPath,
      bin,
      ...args,
    ];
    const root = scenario(os.tmpdir(), as('root', os.tmpdir()), () => undefined);
    const rootless = scenario(home, as(user, home), (dir) => execFileSync('chown', ['-R', `${user}:`, dir]));
    return { scenario: 'rootless: build.mjs scenario as root and as a user (command)', runs, builders: { root, rootless } };
  } finally {
    execFileSync('userdel', ['-r', '-f', user], { stdio: 'ignore' });
    rmSync(home, { recursive: true, force: true });
  }
}

export function formatRootless(r) {
  const row = (name, t) =>
    `  ${name.padEnd(9)} cold ${t.cold.medianMs.toFixed(0)} ms, no-op ${t.noop.medianMs.toFixed(0)} ms, one file changed ${t.oneFileChanged.medianMs.toFixed(0)} ms, du ${t.du.medianMs.toFixed(0)} ms`;
  return [`${r.scenario} (medians of ${r.runs}):`, row('root', r.builders.root), row('rootless', r.builders.rootless)].join('\n');
}
