/**
 * Namespaces and slirp4netns processes never outlive their use: release, close, abort, a helper
 * that fails or is missing, and tsbuild itself SIGKILLed (then the next tsbuild's reclaim).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TsbuildError } from '../../src/errors.js';
import { createNetworkProvider } from '../../src/network/providers.js';
import { reclaimStale } from '../../src/runtime/reclaim.js';
import { RuncExecutor } from '../../src/runtime/runc.js';
import { leftovers, NOTHING_LEFT, processesNaming, until } from '../helpers/netns-leftovers.js';
import { isRoot } from '../helpers/root.js';
import { projectRoot } from '../helpers/shared.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-netns-');

/** The interfaces of a namespace, seen through its file. */
function interfacesOf(namespace: string): string[] {
  const out = execFileSync('nsenter', [`--net=${namespace}`, 'ip', '-o', 'link', 'show'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => /^\d+: ([^:@]+)/.exec(line)?.[1] ?? line);
}

/** The mount points at or below `dir`, from the host's mount table. */
function mountsBelow(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((target) => target === dir || target.startsWith(`${dir}/`));
}

describe.skipIf(!isRoot)('network namespace lifecycle', () => {
  // `none` makes nothing here (runc makes its namespace): the conformance suite checks that.
  it.each([['default', ['lo', 'eth0'], 1]] as const)(
    '%s: a fresh namespace per step, in a scratch dir named with the owner tag, the next one made while a step runs; release and close remove it all',
    async (mode, interfaces, helpers) => {
      const root = tempDir();
      const provider = createNetworkProvider(mode, { root });
      const first = await provider.prepare();
      const namespace = (first.namespace as { path: string }).path;
      expect(path.relative(root, namespace)).toMatch(new RegExp(`^tmp/netns-${process.pid}\\.\\d+-[0-9a-f]{12}/ns$`));
      expect(interfacesOf(namespace)).toEqual(interfaces);
      // The spare for the next step: a second namespace (and helper) appears without a prepare.
      const spareReady = async (): Promise<boolean> => {
        const left = await leftovers(root);
        return left.mounts.length === 2 && left.processes.length === 2 * helpers;
      };
      expect(await until(spareReady)).toBe(true);
      const spare = (await leftovers(root)).mounts.find((m) => m !== namespace);
      const second = await provider.prepare();
      expect(second.namespace).toEqual({ path: spare });
      expect(interfacesOf(spare as string)).toEqual(interfaces);
      await first.release();
      await first.release();
      expect((await leftovers(root)).mounts).not.toContain(namespace);
      await provider.close();
      expect(await leftovers(root)).toEqual(NOTHING_LEFT);
    },
  );

  it('slirp4netns’s sandbox unmounts nothing of the host’s: a mount below a shared mount stays', async () => {
    // Docker's data root is such a mount, with its builds' overlays below it.
    const shared = tempDir();
    const child = path.join(shared, 'child');
    execFileSync('mount', ['-t', 'tmpfs', 'tsbuild-shared', shared]);
    try {
      execFileSync('mount', ['--make-shared', shared]);
      mkdirSync(child);
      execFileSync('mount', ['-t', 'tmpfs', 'tsbuild-child', child]);
      const root = tempDir();
      const provider = createNetworkProvider('default', { root });
      const step = await provider.prepare();
      // The step's slirp4netns and the spare's have both set up their sandboxes.
      expect(await until(async () => (await leftovers(root)).processes.length === 2)).toBe(true);
      await step.release();
      await provider.close();
      expect(mountsBelow(shared)).toEqual([shared, child]);
    } finally {
      execFileSync('umount', ['--recursive', '--lazy', shared]);
    }
  });

  it('close releases what the steps did not, and the spare', async () => {
    const root = tempDir();
    const provider = createNetworkProvider('default', { root });
    const steps = [await provider.prepare(), await provider.prepare(), await provider.prepare()];
    await steps[0]?.release();
    // Two steps held, one spare.
    expect(await until(async () => (await leftovers(root)).processes.length === 3)).toBe(true);
    await provider.close();
    expect(await leftovers(root)).toEqual(NOTHING_LEFT);
    await expect(provider.prepare()).rejects.toThrow('the default network provider is closed');
    expect(await leftovers(root)).toEqual(NOTHING_LEFT);
  });

  it('close while a step’s namespace is being made: that step fails, and close leaves nothing', async () => {
    const root = tempDir();
    const provider = createNetworkProvider('default', { root, slirp: { command: ['sh', '-c', 'sleep 0.3; exec slirp4netns "$@"', 'slirp'] } });
    const preparing = provider.prepare();
    const failed = preparing.catch((err: unknown) => err);
    expect(await until(() => processesNaming(root).length === 1)).toBe(true);
    await provider.close();
    expect(await leftovers(root)).toEqual(NOTHING_LEFT);
    expect(String(await failed)).toBe('InternalError: the default network provider is closed');
  });

  it('an abort while slirp4netns starts kills it and leaves nothing', async () => {
    const root = tempDir();
    const fifo = path.join(tempDir(), 'never-written');
    execFileSync('mkfifo', [fifo]);
    // A slirp4netns that waits on a FIFO nobody writes before it starts: the abort comes first.
    const provider = createNetworkProvider('default', { root, slirp: { command: ['sh', '-c', 'read line < "$0"; exec slirp4netns "$@"', fifo] } });
    const controller = new AbortController();
    const preparing = provider.prepare(controller.signal);
    expect(await until(() => processesNaming(root).length === 1)).toBe(true);
    controller.abort(new Error('build cancelled'));
    await expect(preparing).rejects.toThrow('build cancelled');
    expect(await leftovers(root)).toEqual(NOTHING_LEFT);
    await expect(provider.prepare(AbortSignal.abort(new Error('already cancelled')))).rejects.toThrow('already cancelled');
    expect(await leftovers(root)).toEqual(NOTHING_LEFT);
  });

  it.each([
    [
      'fails',
      ['sh', '-c', 'echo "starting"; echo "cannot open /dev/net/tun: no such device" >&2; exit 1'],
      'unavailable',
      'sh failed to set up the network namespace (exit status 1): cannot open /dev/net/tun: no such device',
    ],
    [
      'fails with its banner after the cause',
      [
        'sh',
        '-c',
        'echo "cannot make mount propagation slave /run" >&2; printf "Starting slirp\\n* MTU:             65520\\n* Recommended IP:  10.0.2.100\\n"; exit 1',
      ],
      'unavailable',
      'sh failed to set up the network namespace (exit status 1): cannot make mount propagation slave /run',
    ],
    ['is killed', ['sh', '-c', 'kill -9 $$'], 'unavailable', 'sh failed to set up the network namespace (killed by SIGKILL): no output'],
    ['is missing', ['/nonexistent/slirp4netns'], 'failed-precondition', '/nonexistent/slirp4netns is not installed (not found on PATH)'],
  ])('a slirp4netns that %s: one line saying why, and nothing left', async (_name, command, code, message) => {
    const root = tempDir();
    const provider = createNetworkProvider('default', { root, slirp: { command } });
    const failure = await provider.prepare().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(TsbuildError);
    expect([(failure as TsbuildError).code, (failure as TsbuildError).message]).toEqual([code, message]);
    expect(await leftovers(root)).toEqual(NOTHING_LEFT);
  });

  it('SIGKILLed tsbuild: slirp4netns exits on its own, and the reclaim removes the namespaces', async () => {
    const root = tempDir();
    const script = `import { createNetworkProvider } from ${JSON.stringify(path.join(projectRoot, 'dist/network/providers.js'))};
      const root = process.argv[1];
      const a = await createNetworkProvider('default', { root }).prepare();
      const b = await createNetworkProvider('default', { root }).prepare();
      process.stdout.write(JSON.stringify([a.namespace.path, b.namespace.path]) + '\\n');
      setInterval(() => undefined, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, root], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const line = await new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString())));
      const namespaces = JSON.parse(line) as string[];
      // The step's slirp4netns, and the spare's if it is ready already.
      const slirp = processesNaming(path.join(root, 'tmp')).filter((p) => p.includes('slirp4netns'));
      expect(slirp.length).toBeGreaterThanOrEqual(1);
      child.kill('SIGKILL');
      await exited;
      // The exit descriptor's other end died with its owner.
      expect(await until(() => processesNaming(root).length === 0)).toBe(true);
      // The namespace files stay mounted until a tsbuild reclaims them: the steps' and the spares'
      // the providers had made by then (a spare may have been on its way when the kill came).
      const mounted = (await leftovers(root)).mounts;
      expect(mounted).toEqual(expect.arrayContaining(namespaces));
      expect(mounted.length).toBeLessThanOrEqual(4);
      const reclaimed = await reclaimStale(root, new RuncExecutor(root));
      const scratchOf = (ns: string): string => path.basename(path.dirname(ns));
      expect(reclaimed.scratch).toEqual(expect.arrayContaining(mounted.map(scratchOf)));
      expect(await leftovers(root)).toEqual(NOTHING_LEFT);
      expect(namespaces.some((ns) => existsSync(ns))).toBe(false);
    } finally {
      // Whatever failed above, nothing stays for the next test (or the temp dir removal).
      child.kill('SIGKILL');
      await exited;
      await until(() => processesNaming(root).length === 0);
      await reclaimStale(root, new RuncExecutor(root));
    }
  });
});
