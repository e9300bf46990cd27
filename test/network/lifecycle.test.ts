/**
 * Namespaces and slirp4netns processes never outlive their use: release, close, abort, a helper
 * that fails or is missing, and tsbuild itself SIGKILLed (then the next tsbuild's reclaim).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TsbuildError } from '../../src/errors.js';
import { createNetworkProvider } from '../../src/network/providers.js';
import { reclaimStale } from '../../src/runtime/reclaim.js';
import { RuncRuntime } from '../../src/runtime/runc.js';
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

describe.skipIf(!isRoot)('network namespace lifecycle', () => {
  it.each([
    ['none', ['lo']],
    ['default', ['lo', 'eth0']],
  ] as const)(
    '%s: each step gets its own namespace file in a scratch dir named with the owner tag; release removes it all',
    async (mode, interfaces) => {
      const root = tempDir();
      const provider = createNetworkProvider(mode, { root });
      const step = await provider.prepare();
      const namespace = step.namespacePath as string;
      expect(path.relative(root, namespace)).toMatch(new RegExp(`^tmp/netns-${process.pid}\\.\\d+-[0-9a-f]{12}/ns$`));
      expect(interfacesOf(namespace)).toEqual(interfaces);
      expect((await leftovers(root)).mounts).toEqual([namespace]);
      expect((await leftovers(root)).processes.length).toBe(mode === 'default' ? 1 : 0);
      await step.release();
      await step.release();
      expect(await leftovers(root)).toEqual(NOTHING_LEFT);
      await provider.close();
    },
  );

  it('close releases what the steps did not', async () => {
    const root = tempDir();
    const provider = createNetworkProvider('default', { root });
    const steps = [await provider.prepare(), await provider.prepare(), await provider.prepare()];
    await steps[0]?.release();
    expect((await leftovers(root)).processes.length).toBe(2);
    await provider.close();
    expect(await leftovers(root)).toEqual(NOTHING_LEFT);
    await expect(provider.prepare()).rejects.toThrow('the default network provider is closed');
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
      'sh failed to set up the network namespace (exit status 1): cannot open /dev/net/tun: no such device',
    ],
    ['is killed', ['sh', '-c', 'kill -9 $$'], 'sh failed to set up the network namespace (killed by SIGKILL): no output'],
    ['is missing', ['/nonexistent/slirp4netns'], '/nonexistent/slirp4netns is not installed (not found on PATH)'],
  ])('a slirp4netns that %s: one line saying why, and nothing left', async (_name, command, message) => {
    const root = tempDir();
    const provider = createNetworkProvider('default', { root, slirp: { command } });
    const failure = await provider.prepare().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(TsbuildError);
    expect([(failure as TsbuildError).code, (failure as TsbuildError).message]).toEqual(['unavailable', message]);
    expect(await leftovers(root)).toEqual(NOTHING_LEFT);
  });

  it('SIGKILLed tsbuild: slirp4netns exits on its own, and the reclaim removes the namespaces', async () => {
    const root = tempDir();
    const script = `import { createNetworkProvider } from ${JSON.stringify(path.join(projectRoot, 'dist/network/providers.js'))};
      const root = process.argv[1];
      const a = await createNetworkProvider('default', { root }).prepare();
      const b = await createNetworkProvider('none', { root }).prepare();
      process.stdout.write(JSON.stringify([a.namespacePath, b.namespacePath]) + '\\n');
      setInterval(() => undefined, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, root], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    const namespaces = JSON.parse(line) as string[];
    const slirp = processesNaming(path.join(root, 'tmp')).filter((p) => p.includes('slirp4netns'));
    expect(slirp.length).toBe(1);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    // The exit descriptor's other end died with its owner.
    expect(await until(() => processesNaming(root).length === 0)).toBe(true);
    // The namespace files stay mounted until a tsbuild reclaims them.
    expect((await leftovers(root)).mounts.sort()).toEqual([...namespaces].sort());
    const reclaimed = await reclaimStale(root, new RuncRuntime(root));
    expect(reclaimed.scratch.sort()).toEqual(namespaces.map((ns) => path.basename(path.dirname(ns))).sort());
    expect(await leftovers(root)).toEqual(NOTHING_LEFT);
    expect(namespaces.some((ns) => existsSync(ns))).toBe(false);
  });
});
