/**
 * Real runc containers on a prepared `StepNetwork`, for the network tests: a busybox root filesystem
 * (read-only, shared by every container of a state root), the step's resolv.conf bound on
 * /etc/resolv.conf, and the namespace file in `linux.namespaces`, as `RuncExecutor` does. Cheaper
 * than the executor (one unpacked tree, no snapshot per run) for `network.test.ts`'s many
 * containers; the conformance suite (`test/suites/network.ts`) goes through the executor itself.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { applyLayer } from '../../src/diff/applier.js';
import type { StepNetwork } from '../../src/network/network.js';
import { toRuntimeSpec } from '../../src/runtime/oci-spec.js';
import { ownerTag } from '../../src/util/owner.js';
import { busyboxLayer } from './oci-image.js';

export interface ContainerResult {
  code: number | null;
  output: string;
}

/** Runs containers with their state under `state` (a test's temp dir). */
export class NetnsContainers {
  private rootfs: Promise<string> | undefined;

  constructor(private readonly state: string) {}

  /**
   * Runs `script` with `sh -c` on `network` and returns its exit status and output (stdout and
   * stderr together). `signal` kills the container.
   */
  async run(network: StepNetwork, script: string, signal?: AbortSignal): Promise<ContainerResult> {
    const id = `tsbuild-${ownerTag()}-${randomBytes(6).toString('hex')}`;
    const bundle = path.join(this.state, 'bundles', id);
    await mkdir(bundle, { recursive: true });
    const resolv = path.join(bundle, 'resolv.conf');
    await writeFile(resolv, network.resolvConf);
    const spec = toRuntimeSpec(
      { args: ['/bin/busybox', 'sh', '-c', script], env: ['PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] } },
      {
        rootfs: await this.busybox(),
        hostname: 'netns-test',
        networkNamespace: network.namespace,
        security: 'sandbox',
        maxOpenFiles: hardOpenFileLimit(),
        mounts: [{ destination: '/etc/resolv.conf', type: 'bind', source: resolv, options: ['bind', 'ro'] }],
      },
    ) as { root: { readonly: boolean }; linux: { namespaces: Array<{ type: string; path?: string }> } };
    spec.root.readonly = true;
    await writeFile(path.join(bundle, 'config.json'), JSON.stringify(spec));
    const runcRoot = path.join(this.state, 'runc-state');
    try {
      return await new Promise<ContainerResult>((resolve, reject) => {
        const child = spawn('runc', ['--root', runcRoot, 'run', '--bundle', bundle, id], { stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        const onAbort = (): void => void spawn('runc', ['--root', runcRoot, 'kill', id, 'KILL'], { stdio: 'ignore' });
        signal?.addEventListener('abort', onAbort, { once: true });
        child.once('error', reject);
        child.once('close', (code) => {
          signal?.removeEventListener('abort', onAbort);
          resolve({ code, output });
        });
      });
    } finally {
      await new Promise((resolve) => spawn('runc', ['--root', runcRoot, 'delete', '--force', id], { stdio: 'ignore' }).once('close', resolve));
      await rm(bundle, { recursive: true, force: true });
    }
  }

  /** The busybox tree, unpacked once; runc creates its mount points before making it read-only. */
  private busybox(): Promise<string> {
    this.rootfs ??= (async () => {
      const dir = path.join(this.state, 'busybox');
      await mkdir(dir);
      await applyLayer(Readable.from([(await busyboxLayer()).gz]), dir, { mode: 'plain' });
      return dir;
    })();
    return this.rootfs;
  }
}

/** This process's hard RLIMIT_NOFILE: a container cannot be given more. */
function hardOpenFileLimit(): number {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  return Number(/^Max open files\s+\S+\s+(\d+)/m.exec(limits)?.[1] ?? 1024);
}
