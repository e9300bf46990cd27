/**
 * The executor conformance suite (BuildKit's executor tests, trimmed): run a process over a
 * snapshot's mounts, stream its output, report how it ended, run it as the user asked, stop it on
 * abort, and leave nothing behind. `leftovers(state)` lists what an implementation left in its state
 * directory (containers, bundles, mounts): it must be empty after every run.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { applyLayer } from '../../src/diff/applier.js';
import type { Executor } from '../../src/runtime/executor.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { busyboxLayer } from '../helpers/oci-image.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const ROOT = { uid: 0, gid: 0, additionalGids: [0, 10] };
/** These processes open no connection: the host's namespace serves (`test/network/` covers the others). */
const NO_NETWORK_NEEDED = { namespace: 'host', resolvConf: '' } as const;

export function executorSuite(name: string, make: (state: string) => Executor, leftovers: (state: string) => Promise<unknown[]>): void {
  const tempDir = useTempDirs('tsbuild-execsuite-');

  /** A state root with busybox committed as snapshot `base`. */
  async function busyboxBase(): Promise<{ state: string; snaps: OverlaySnapshotter }> {
    const state = tempDir();
    const snaps = new OverlaySnapshotter(state);
    await snaps.prepare('x');
    await applyLayer(Readable.from([(await busyboxLayer()).gz]), await snaps.upperDir('x'), { mode: 'overlay' });
    await snaps.commit('base', 'x');
    return { state, snaps };
  }

  describe.skipIf(!isRoot)(`Executor conformance: ${name}`, () => {
    it('runs a process over a snapshot’s mounts, streaming output; its writes land in the snapshot', async () => {
      const { state, snaps } = await busyboxBase();
      const chunks: string[] = [];
      const status = await make(state).run(
        {
          args: ['/bin/sh', '-c', 'echo "uid=$(id -u) host=$(hostname) cwd=$(pwd) x=$X"; head -1 /etc/hosts; echo created > /made'],
          env: [PATH, 'X=1'],
          cwd: '/bin',
          user: ROOT,
        },
        {
          rootfs: await snaps.prepare('run', 'base'),
          hostname: 'tsbuildsandbox',
          network: NO_NETWORK_NEEDED,
          security: 'sandbox',
          output: (c) => chunks.push(c.toString()),
        },
      );
      expect(status).toEqual({ exitCode: 0, tail: chunks.join('') });
      expect(chunks.join('')).toBe('uid=0 host=tsbuildsandbox cwd=/bin x=1\n127.0.0.1\tlocalhost tsbuildsandbox\n');
      expect(readFileSync(path.join(await snaps.upperDir('run'), 'made'), 'utf8')).toBe('created\n');
      expect(await leftovers(state)).toEqual([]);
    });

    it('reports the exit code, or the signal, and the tail of the output', async () => {
      const { state, snaps } = await busyboxBase();
      const executor = make(state);
      const options = { hostname: 'h', network: NO_NETWORK_NEEDED, security: 'sandbox' as const };
      // stdout and stderr are two pipes: the pause lets the first line arrive first, as it would in a log.
      const failed = await executor.run(
        { args: ['/bin/sh', '-c', 'echo first; sleep 0.2; echo "it broke" >&2; exit 3'], env: [PATH], cwd: '/', user: ROOT },
        { ...options, rootfs: await snaps.prepare('a', 'base') },
      );
      // A status of 128 + n is a process killed by signal n (runc reports both alike); the container's
      // init ignores SIGKILL sent from inside, so the shell reports its killed child's status.
      const killed = await executor.run(
        { args: ['/bin/sh', '-c', 'sleep 30 & kill -9 $!; wait $!'], env: [PATH], cwd: '/', user: ROOT },
        { ...options, rootfs: await snaps.prepare('b', 'base') },
      );
      expect([failed, killed]).toEqual([
        { exitCode: 3, tail: 'first\nit broke\n' },
        { exitCode: 137, signal: 'SIGKILL', tail: 'Killed\n' },
      ]);
      expect(await leftovers(state)).toEqual([]);
    });

    it('runs as a non-root user with supplementary groups', async () => {
      const { state, snaps } = await busyboxBase();
      const chunks: string[] = [];
      await make(state).run(
        { args: ['/bin/sh', '-c', 'id -u; id -g; id -G'], env: [PATH], cwd: '/', user: { uid: 1001, gid: 1002, additionalGids: [1002, 10] } },
        {
          rootfs: await snaps.prepare('run', 'base'),
          hostname: 'h',
          network: NO_NETWORK_NEEDED,
          security: 'sandbox',
          output: (c) => chunks.push(c.toString()),
        },
      );
      expect(chunks.join('')).toBe('1001\n1002\n1002 10\n');
    });

    it('kills the process on abort, rejects with the reason, and leaves nothing behind', async () => {
      const { state, snaps } = await busyboxBase();
      const controller = new AbortController();
      const run = make(state).run(
        { args: ['/bin/sh', '-c', 'echo started; sleep 60'], env: [PATH], cwd: '/', user: ROOT },
        {
          rootfs: await snaps.prepare('run', 'base'),
          hostname: 'h',
          network: NO_NETWORK_NEEDED,
          security: 'sandbox',
          signal: controller.signal,
          output: () => controller.abort(new Error('interrupted')),
        },
      );
      await expect(run).rejects.toThrow('interrupted');
      expect(await leftovers(state)).toEqual([]);
    });
  });
}
