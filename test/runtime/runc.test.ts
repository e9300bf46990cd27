import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { applyLayer } from '../../src/diff/applier.js';
import { mountsUnder } from '../../src/runtime/mount.js';
import { ownerTag } from '../../src/util/owner.js';
import { DEFAULT_CAPABILITIES, toRuntimeSpec } from '../../src/runtime/oci-spec.js';
import { RuncExecutor } from '../../src/runtime/runc.js';
import { FailedPreconditionError } from '../../src/errors.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { busyboxLayer } from '../helpers/oci-image.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';
import { executorSuite } from '../suites/executor.js';

const tempDir = useTempDirs('tsbuild-runc-');
const root = { uid: 0, gid: 0, additionalGids: [0, 10] };
const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A state root with busybox committed as snapshot `base`. */
async function busyboxBase(): Promise<{ state: string; snaps: OverlaySnapshotter }> {
  const state = tempDir();
  const snaps = new OverlaySnapshotter(state);
  await snaps.prepare('x');
  await applyLayer(Readable.from([(await busyboxLayer()).gz]), await snaps.upperDir('x'), { mode: 'overlay' });
  await snaps.commit('base', 'x');
  return { state, snaps };
}

function runcContainers(state: string): string {
  return execFileSync('runc', ['--root', path.join(state, 'runc', 'state'), 'list', '-q'], { encoding: 'utf8' });
}

describe('toRuntimeSpec', () => {
  it('gives Docker’s defaults and the requested process', () => {
    const spec = toRuntimeSpec(
      { args: ['/bin/sh', '-c', 'true'], env: [PATH], cwd: '/w', user: root },
      { rootfs: '/r', hostname: 'h', networkNamespace: { path: '/run/netns/x' }, security: 'sandbox', mounts: [] },
    ) as {
      process: { capabilities: { bounding: string[] }; noNewPrivileges: boolean; cwd: string };
      linux: { namespaces: Array<{ type: string }>; maskedPaths: string[] };
      mounts: Array<{ destination: string }>;
    };
    expect(spec.process.capabilities.bounding).toEqual(DEFAULT_CAPABILITIES);
    // Capability numbers of the default set, as a bitmask: BuildKit's 00000000a80425fb.
    const numbers: Record<string, number> = {
      CAP_CHOWN: 0,
      CAP_DAC_OVERRIDE: 1,
      CAP_FOWNER: 3,
      CAP_FSETID: 4,
      CAP_KILL: 5,
      CAP_SETGID: 6,
      CAP_SETUID: 7,
      CAP_SETPCAP: 8,
      CAP_NET_BIND_SERVICE: 10,
      CAP_NET_RAW: 13,
      CAP_SYS_CHROOT: 18,
      CAP_MKNOD: 27,
      CAP_AUDIT_WRITE: 29,
      CAP_SETFCAP: 31,
    };
    expect(DEFAULT_CAPABILITIES.reduce((mask, c) => mask + 2 ** (numbers[c] ?? 99), 0).toString(16)).toBe('a80425fb');
    expect([spec.process.noNewPrivileges, spec.process.cwd]).toEqual([true, '/w']);
    expect(spec.linux.namespaces.map((n) => n.type)).toEqual(['pid', 'ipc', 'uts', 'mount', 'network']);
    expect(spec.mounts.map((m) => m.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys']);
    expect(spec.linux.maskedPaths).toContain('/proc/kcore');
  });
});

executorSuite(
  'RuncExecutor',
  (state) => new RuncExecutor(state),
  async (state) => [
    ...runcContainers(state).split('\n').filter(Boolean),
    ...readdirSync(path.join(state, 'runc', 'bundles')),
    ...(await mountsUnder(state)),
  ],
);

describe.skipIf(!isRoot)('RuncExecutor (real runc)', () => {
  it('names a runc that is not installed, and leaves nothing behind', async () => {
    const { state, snaps } = await busyboxBase();
    const run = new RuncExecutor(state, 'runc-not-installed').run(
      { args: ['/bin/true'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [0] } },
      { rootfs: await snaps.prepare('run', 'base'), hostname: 'h', network: { namespace: 'host', resolvConf: '' }, security: 'sandbox' },
    );
    await expect(run).rejects.toThrow(
      new FailedPreconditionError('runc-not-installed is not installed (not found on PATH): RUN steps run in it', {
        hint: 'install it: apt-get install runc',
      }),
    );
    expect([readdirSync(path.join(state, 'runc', 'bundles')), await mountsUnder(state)]).toEqual([[], []]);
  });

  it("cleans up what a dead tsbuild left behind, and leaves a live one's bundle alone", async () => {
    const { state, snaps } = await busyboxBase();
    const bundles = path.join(state, 'runc', 'bundles');
    // Pid 2147483646 runs nowhere: its bundle is stale. This process's own tag is alive.
    const stale = path.join(bundles, 'tsbuild-2147483646.1-stale');
    const live = path.join(bundles, `tsbuild-${ownerTag()}-live`);
    for (const bundle of [stale, live]) {
      mkdirSync(path.join(bundle, 'rootfs'), { recursive: true });
      execFileSync('mount', ['--bind', await snaps.upperDir('base'), path.join(bundle, 'rootfs')]);
    }
    try {
      expect(await new RuncExecutor(state).cleanupStale()).toEqual(['tsbuild-2147483646.1-stale']);
      expect([existsSync(stale), existsSync(live), await mountsUnder(state)]).toEqual([false, true, [path.join(live, 'rootfs')]]);
    } finally {
      execFileSync('umount', [path.join(live, 'rootfs')]);
    }
  });
});
