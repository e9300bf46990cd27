/**
 * Issue 22: `tsbuild build . 2>&1 | head` — the reader of the build's output goes away during a
 * RUN. buildx dies of SIGPIPE there and BuildKit cancels the build; tsbuild does the same, cleanly:
 * the build is aborted, its container, mounts, namespace and scratch directories are removed, and
 * it exits 1. A run killed outright (SIGKILL) leaves them behind, and `prune` removes them. Through
 * the real CLI with a real pipe, runc and overlayfs.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mountsUnder } from '../../src/runtime/mount.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { tsbuild } from '../helpers/cli.js';
import { registryAvailable, useBusyboxRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { projectRoot } from '../helpers/shared.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-closed-output-');
const busybox = useBusyboxRegistry(isRoot && registryAvailable);

/** What a build can leave in its state root: containers, mounts, unfinished snapshots, scratch dirs. */
async function leftovers(root: string): Promise<{ containers: string; mounts: string[]; active: string[]; scratch: string[] }> {
  const containers = execFileSync('runc', ['--root', path.join(root, 'runc', 'state'), 'list', '-q'], { encoding: 'utf8' });
  const active = (await new OverlaySnapshotter(root).list()).filter((s) => s.kind !== 'committed').map((s) => s.key);
  const scratch = existsSync(path.join(root, 'tmp')) ? readdirSync(path.join(root, 'tmp')) : [];
  return { containers, mounts: await mountsUnder(root), active, scratch };
}

const clean = { containers: '', mounts: [], active: [], scratch: [] };

/**
 * Starts a build of a RUN that prints, sleeps, prints (the write that meets a closed pipe) and
 * sleeps 6 s more; `onStarted` runs once the RUN has printed (the container is up). Resolves to the
 * exit status and signal.
 */
function buildUntilStarted(
  stdio: 'stderr-pipe' | 'combined',
  onStarted: (child: ReturnType<typeof spawn>) => void,
): { root: string; done: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const context = tempDir();
  const root = tempDir();
  writeFileSync(
    path.join(context, 'Dockerfile'),
    `FROM ${busybox.registry().host}/busybox:1\nRUN echo started; sleep 1; echo more; sleep 6; echo end\nRUN echo second\n`,
  );
  const env = { ...process.env, TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() };
  const args = [path.join(projectRoot, 'bin', 'tsbuild.js'), '--root', root, 'build', '--progress=plain', context];
  // `2>&1 | …`: one pipe for both streams, as a shell makes it.
  const child =
    stdio === 'combined'
      ? spawn('/bin/sh', ['-c', `exec "$0" "$@" 2>&1`, process.execPath, ...args], { env, stdio: ['ignore', 'pipe', 'ignore'] })
      : spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const output = (stdio === 'combined' ? child.stdout : child.stderr) as NodeJS.ReadableStream;
  let seen = '';
  let fired = false;
  output.on('data', (d: Buffer) => {
    seen += d.toString();
    if (!fired && seen.includes('started\n')) {
      fired = true;
      onStarted(child);
    }
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { root, done };
}

describe.skipIf(!isRoot || !registryAvailable)('a build whose output goes away', () => {
  it.each(['combined', 'stderr-pipe'] as const)(
    '%s: the pipe closed during a RUN aborts the build, exit 1, nothing left',
    async (stdio) => {
      // Closing our end of the pipe is what `head` does when it has its lines.
      const { root, done } = buildUntilStarted(stdio, (child) => (stdio === 'combined' ? child.stdout : child.stderr)?.destroy());
      const exit = await done;
      expect(exit).toEqual({ code: 1, signal: null });
      expect(await leftovers(root)).toEqual(clean);
    },
    60_000,
  );

  it('a run killed during a RUN leaves its container and mounts; prune removes them', async () => {
    const { root, done } = buildUntilStarted('stderr-pipe', (child) => child.kill('SIGKILL'));
    expect(await done).toEqual({ code: null, signal: 'SIGKILL' });
    const left = await leftovers(root);
    expect(left.mounts.length).toBeGreaterThan(0);
    expect(left.containers).not.toBe('');
    const pruned = tsbuild(['--root', root, 'prune']);
    // The reclaim says what it removed, on stderr.
    expect([pruned.status, pruned.stderr]).toEqual([
      0,
      expect.stringMatching(
        /^reclaimed what stopped tsbuild processes left: 1 container, \d+ scratch directories, \d+ active snapshots?, 1 lease\n$/,
      ),
    ]);
    expect(await leftovers(root)).toEqual(clean);
  }, 60_000);
});
