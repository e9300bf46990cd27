/**
 * Builds killed with SIGKILL at random moments (a CI runner timing out, the OOM killer) leave
 * nothing that the next `tsbuild build` does not reclaim. Each of KILLS builds is killed after a
 * random share of a whole build's duration (seeded: CHAOS_SEED reproduces a run) and is followed
 * by the same build run to completion; then one more build. Afterwards the state root holds no
 * mount, scratch directory, runc container or bundle, active or orphaned snapshot, ingest file,
 * lease, temporary or lock file; no process runs for it; every blob hashes to its name; and the
 * final image is the one a fresh root builds (same digest, SOURCE_DATE_EPOCH set).
 *
 * One kill is placed rather than random: after a step has committed its snapshot and handed it on,
 * while its layer is still being written (the window where no cache record names the snapshot).
 *
 * The Dockerfile has what a real one has: a base image pulled from a real registry behind the
 * test proxy (slowed, so kills land mid-pull too), COPY of 300 files, two RUN steps with cache
 * mounts, and a second stage starting from an image pulled anew in every round. Every RUN has the
 * default network, a namespace of its own behind slirp4netns (the first says so, and checks its
 * interface is there): after each kill, the namespaces the dead build left mounted and any
 * slirp4netns still serving them are counted, and once the next build has reclaimed, none may be
 * left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeBusyboxLayout } from '../helpers/oci-image.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { registryAvailable, skopeoPush, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { projectRoot } from '../helpers/shared.js';
import { tsbuild } from '../helpers/cli.js';
import {
  countLeftovers,
  leftovers,
  mountsBelow,
  NOTHING_LEFT,
  processesMentioning,
  stepsWithoutRecord,
  verifyBlobs,
  type Leftovers,
} from '../helpers/state-root.js';
import { useTempDirs } from '../helpers/tmp.js';

const KILLS = Number(process.env.CHAOS_KILLS ?? 15);
const SEED = Number(process.env.CHAOS_SEED ?? 16);
/** Written into every RUN command, so the processes of a build's containers can be found. */
const MARKER = `chaos-${randomBytes(4).toString('hex')}`;

// Removing a root that 18 builds filled takes a while on a busy machine.
const tempDir = useTempDirs('tsbuild-chaos-kill-', 120_000);
let layouts: string;
let registry: TestRegistry;
let proxy: TestProxy;

/** mulberry32: a small seeded generator, so a failing run can be repeated with its seed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

beforeAll(async () => {
  if (!isRoot || !registryAvailable) return;
  layouts = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-chaos-layouts-'));
  registry = await startRegistry();
  await writeBusyboxLayout(path.join(layouts, 'bb'), '1', ['linux/amd64']);
  await skopeoPush(path.join(layouts, 'bb'), '1', `${registry.host}/busybox:1`);
  // One image per round for the second stage, each with its own 512 KiB layer: every round pulls.
  for (let round = 0; round <= KILLS + 2; round++) {
    const dir = path.join(layouts, `round-${round}`);
    await writeBusyboxLayout(dir, String(round), ['linux/amd64'], 'oci', { payload: randomBytes(512 * 1024) });
    await skopeoPush(dir, String(round), `${registry.host}/round:${round}`);
  }
  proxy = await startProxy(registry.host, { slowBlobsMs: 4 });
}, 120_000);
afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  if (layouts) rmSync(layouts, { recursive: true, force: true });
});

/** The build context: the Dockerfile and 300 files, one of which names the round. */
function writeContext(dir: string, round: number): void {
  mkdirSync(path.join(dir, 'files'), { recursive: true });
  for (let i = 0; i < 300; i++) writeFileSync(path.join(dir, 'files', `f${i}.txt`), `file ${i}\n`.repeat(40));
  writeFileSync(path.join(dir, 'files', 'round.txt'), `${round}\n`);
  writeFileSync(
    path.join(dir, 'Dockerfile'),
    [
      'ARG ROUND=0',
      `FROM ${proxy.host}/busybox:1 AS base`,
      'COPY files/ /files/',
      `RUN --network=default --mount=type=cache,target=/var/cache/one sh -c ': ${MARKER}; busybox grep -q eth0: /proc/net/dev; busybox cat /files/* | busybox md5sum > /sum; busybox cp /sum /var/cache/one/last'`,
      `RUN --mount=type=cache,target=/var/cache/two,sharing=locked sh -c ': ${MARKER}; busybox sleep 0.3; busybox ls /files | busybox wc -l > /count'`,
      `FROM ${proxy.host}/round:\${ROUND}`,
      'COPY --from=base /sum /count /',
      `RUN sh -c ': ${MARKER}; busybox cat /sum /count /etc/platform > /result'`,
    ].join('\n'),
  );
}

interface Run {
  child: ChildProcess;
  done: Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }>;
}

function startBuild(root: string, context: string, round: number, tmp: string): Run {
  const child = spawn(
    process.execPath,
    [
      path.join(projectRoot, 'bin', 'tsbuild.js'),
      '--root',
      root,
      'build',
      '--progress=plain',
      '--build-arg',
      `ROUND=${round}`,
      '-t',
      'chaos:1',
      context,
    ],
    {
      env: {
        ...process.env,
        TMPDIR: tmp,
        SOURCE_DATE_EPOCH: '1700000000',
        TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json',
        DOCKER_CONFIG: path.join(tmp, 'docker-config'),
      },
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }>((resolve) =>
    child.on('close', (status, signal) => resolve({ status, signal, stderr, stdout })),
  );
  return { child, done };
}

/** RUN namespaces still mounted below the root (`tmp/netns-<owner>-<random>/ns`), and slirp4netns processes serving the root. */
function networkLeft(root: string): { namespaces: number; slirp: number } {
  return {
    namespaces: mountsBelow(root).filter((point) => /\/tmp\/netns-[^/]+\/ns$/.test(point)).length,
    slirp: processesMentioning([root]).filter((p) => /^\d+ \S*slirp4netns /.test(p)).length,
  };
}

/** The last step a killed build had started, from its plain progress (`#3 [base 2/4] RUN …`). */
function lastStep(stderr: string): string {
  const steps = stderr.split('\n').filter((line) => /^#\d+ \[/.test(line));
  const last = steps.at(-1);
  if (!last) return stderr.includes('resolved to') ? 'pulling' : 'starting';
  return last.replace(/^#\d+ /, '').slice(0, 40);
}

/** The counts in a build's `reclaimed what stopped tsbuild processes left: …` line, by kind. */
function reclaimedBy(stderr: string): Record<string, number> {
  const line = /^reclaimed what stopped tsbuild processes left: (.*)$/m.exec(stderr)?.[1];
  const counts: Record<string, number> = {};
  for (const part of line?.split(', ') ?? []) {
    const [, n, kind] = /^(\d+) (.*)$/.exec(part) ?? [];
    if (kind) counts[kind.replace(/(ies|s)$/, (m) => (m === 'ies' ? 'y' : ''))] = Number(n);
  }
  return counts;
}

describe.skipIf(!isRoot || !registryAvailable)('builds killed at random moments', () => {
  it(`${KILLS} SIGKILLs, each followed by a build, then one more: nothing is left, the store verifies`, async () => {
    const random = seeded(SEED);
    const root = tempDir();
    const context = tempDir();
    const tmp = tempDir();
    const reclaimed: Record<string, number> = {};
    /** What each round's completing build left of the network (after reclaiming the killed one's). */
    const networkAfterRebuild: Array<{ round: number; namespaces: number; slirp: number }> = [];
    const complete = async (round: number, into = root): Promise<{ ms: number; digest: string }> => {
      writeContext(context, round);
      const started = Date.now();
      const result = await startBuild(into, context, round, tmp).done;
      expect({ round, status: result.status, stderr: result.status === 0 ? '' : result.stderr }).toEqual({ round, status: 0, stderr: '' });
      for (const [kind, n] of Object.entries(reclaimedBy(result.stderr))) reclaimed[kind] = (reclaimed[kind] ?? 0) + n;
      return { ms: Date.now() - started, digest: result.stdout.trim() };
    };
    // The first build also pulls the shared base; the second is what every round does. The longer
    // of the two is the span the kills are spread over (on a busy machine either may be the longer).
    const { ms: first } = await complete(0);
    const { ms: second } = await complete(KILLS + 2);
    const span = Math.max(first, second);
    const kills: Array<{ round: number; afterMs: number; during: string; left: number; namespaces: number; slirp: number }> = [];
    const left: Partial<Record<keyof Leftovers, number>> = {};
    for (let round = 1; round <= KILLS; round++) {
      writeContext(context, round);
      const afterMs = Math.round(random() * span);
      const run = startBuild(root, context, round, tmp);
      await new Promise((resolve) => setTimeout(resolve, afterMs));
      run.child.kill('SIGKILL');
      const killed = await run.done;
      const found = leftovers(root);
      for (const [kind, list] of Object.entries(found) as Array<[keyof Leftovers, string[]]>) left[kind] = (left[kind] ?? 0) + list.length;
      kills.push({
        round,
        afterMs,
        during: killed.signal === 'SIGKILL' ? lastStep(killed.stderr) : `finished (${killed.status})`,
        left: countLeftovers(found),
        ...networkLeft(root),
      });
      await complete(round);
      networkAfterRebuild.push({ round, ...networkLeft(root) });
    }
    const last = await complete(KILLS + 1);
    console.log(JSON.stringify({ seed: SEED, spanMs: span, lastBuildMs: last.ms, kills, leftAfterKills: left, reclaimed }, null, 2));

    // The kills did strand RUN namespaces (else this run proves nothing about them), and each time
    // the next build left none, nor a slirp4netns.
    expect(kills.reduce((sum, k) => sum + k.namespaces, 0)).toBeGreaterThan(0);
    expect(networkAfterRebuild.filter((n) => n.namespaces + n.slirp > 0)).toEqual([]);

    expect({ seed: SEED, ...leftovers(root) }).toEqual({ seed: SEED, ...NOTHING_LEFT });
    expect(readdirSync(tmp).filter((n) => n !== 'docker-config')).toEqual([]);
    expect(processesMentioning([root, tmp, MARKER])).toEqual([]);
    const blobs = verifyBlobs(root);
    expect(blobs.bad).toEqual([]);
    // The final image is whole and right: a fresh root builds the same digest from the same inputs.
    const fresh = await complete(KILLS + 1, tempDir());
    expect(last.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(last.digest).toBe(fresh.digest);
  }, 600_000);
});

describe.skipIf(!isRoot || !registryAvailable)('a build killed while a step writes its layer', () => {
  it('the step’s committed snapshot, which no cache record names yet, goes with the next command', async () => {
    const root = tempDir();
    const context = tempDir();
    const tmp = tempDir();
    // A 384 MiB layer takes about a second to write here; sparse, so quick to make.
    writeFileSync(path.join(context, 'big.bin'), '');
    truncateSync(path.join(context, 'big.bin'), 384 * 1024 * 1024);
    writeFileSync(path.join(context, 'Dockerfile'), `FROM ${registry.host}/busybox:1\nCOPY big.bin /big.bin\nRUN sleep 30\n`);
    const child = spawn(process.execPath, [path.join(projectRoot, 'bin', 'tsbuild.js'), '--root', root, 'build', '--progress=plain', context], {
      env: { ...process.env, TMPDIR: tmp, TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: path.join(tmp, 'docker-config') },
    });
    let stderr = '';
    const closed = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_status, signal) => resolve(signal)));
    // The RUN starts once the COPY has committed its snapshot, before the COPY's layer is written.
    const runStarted = (): boolean => /^#\d+ \[3\/3\] RUN sleep 30\b/m.test(stderr);
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (runStarted()) resolve();
      });
      void closed.then(() => resolve());
    });
    child.kill('SIGKILL');
    expect({ signal: await closed, stderr: runStarted() ? '' : stderr }).toEqual({ signal: 'SIGKILL', stderr: '' });
    // The kill lands before or after the RUN has prepared its own snapshot on the step's (that takes
    // a millisecond or two): either way the step's committed snapshot is there without a record.
    expect(stepsWithoutRecord(root)).toEqual([expect.stringMatching(/^step-[0-9a-f]{32}-[0-9a-f]{8}$/)]);
    const du = tsbuild(['--root', root, 'du'], { env: { ...process.env, TMPDIR: tmp } });
    expect(du.status).toBe(0);
    expect(du.stderr).toMatch(/^reclaimed what stopped tsbuild processes left: .*\b1 unrecorded step snapshot\b/m);
    expect(leftovers(root)).toEqual(NOTHING_LEFT);
    expect(processesMentioning([root, tmp])).toEqual([]);
  }, 120_000);
});
