/**
 * Running one process in a fresh runc container. Each run gets a bundle directory
 * (`<root>/runc/bundles/<id>`) with its config.json, a rootfs mount point and the generated /etc
 * files; runc keeps its state under `<root>/runc/state`. Output streams to the caller as it comes
 * and the last 4 KiB are kept for error messages. Abort (Ctrl-C) kills the container; whatever
 * happens, the container, the rootfs mount and the bundle are removed. Container ids name their
 * owner (`tsbuild-<owner>-<random>`, `util/owner.ts`): `cleanupStale` removes only what a tsbuild
 * that no longer runs left behind, never another build's running step.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { FailedPreconditionError } from '../errors.js';
import { ownerAlive, ownerIn, ownerTag } from '../util/owner.js';
import { missingTool } from '../util/tool-runner.js';
import { mountAll, removeSmallTree } from './mount.js';
import type { ExecOptions, Executor, ExitStatus } from './executor.js';
import { toRuntimeSpec, type ContainerMount, type ProcessSpec } from './oci-spec.js';
import { namesIn, readOwnTextIfExists } from '../util/absent.js';

const run = promisify(execFile);
const TAIL_BYTES = 4096;

/** runc, driven through its command line. */
export class RuncExecutor implements Executor {
  private readonly state: string;
  private readonly bundles: string;

  constructor(
    root: string,
    private readonly binary = 'runc',
  ) {
    this.state = path.join(root, 'runc', 'state');
    this.bundles = path.join(root, 'runc', 'bundles');
  }

  /** Runs `process` to completion and reports how it ended. */
  async run(process: ProcessSpec, options: ExecOptions): Promise<ExitStatus> {
    const id = `tsbuild-${ownerTag()}-${randomBytes(8).toString('hex')}`;
    const bundle = path.join(this.bundles, id);
    const rootfs = typeof options.rootfs === 'string' ? options.rootfs : path.join(bundle, 'rootfs');
    // The bundle's few files are written and removed with synchronous calls: the container starts
    // sooner while another step's layer keeps the event loop busy (each thread-pool round trip
    // waits for its next turn there).
    mkdirSync(bundle, { recursive: true });
    mkdirSync(this.state, { recursive: true });
    let exited = false;
    try {
      const etc = await this.writeEtcFiles(bundle, options);
      if (typeof options.rootfs !== 'string') {
        mkdirSync(rootfs);
        await mountAll(options.rootfs, rootfs);
      }
      const spec = toRuntimeSpec(process, {
        ...options,
        rootfs,
        networkNamespace: options.network.namespace,
        mounts: [...etc, ...(options.mounts ?? [])],
        maxOpenFiles: await maxOpenFiles(),
      });
      writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec, null, 2));
      const status = await this.runContainer(id, bundle, options);
      exited = true;
      return status;
    } finally {
      // `runc run` deletes a container whose process exited; one that did not (abort, a runc
      // failure) is deleted here.
      await this.remove(id, bundle, !exited);
    }
  }

  /**
   * Removes the containers, mounts and bundles of tsbuild processes that no longer run (a kill or a
   * crash); a container still running for a dead owner is killed first. Returns their ids. What a
   * live process owns, or a name without an owner, is left alone.
   */
  async cleanupStale(): Promise<string[]> {
    const created = new Set(await namesIn(this.state));
    const ids = new Set([...(await namesIn(this.bundles)), ...created]);
    const stale = [...ids].filter((id) => {
      const owner = ownerIn(id);
      return owner !== undefined && !ownerAlive(owner);
    });
    // Only a container runc knows needs `runc delete` (a process start each); a bare bundle does not.
    for (const id of stale) await this.remove(id, path.join(this.bundles, id), created.has(id));
    return stale;
  }

  private async runContainer(id: string, bundle: string, options: ExecOptions): Promise<ExitStatus> {
    // Aborted while the bundle was made: its listener below would never fire, and the process would run.
    options.signal?.throwIfAborted();
    const child = spawn(this.binary, ['--root', this.state, 'run', '--bundle', bundle, id], { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = Buffer.alloc(0);
    const collect =
      (stream: 'stdout' | 'stderr') =>
      (chunk: Buffer): void => {
        options.output?.(chunk, stream);
        tail = Buffer.concat([tail, chunk]).subarray(-TAIL_BYTES);
      };
    child.stdout.on('data', collect('stdout'));
    child.stderr.on('data', collect('stderr'));
    const onAbort = (): void => {
      // When runc cannot kill the container (not started yet), killing `runc run` itself stops it.
      void run(this.binary, ['--root', this.state, 'kill', id, 'KILL']).catch(() => child.kill('SIGKILL'));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
        child.once('error', (err: NodeJS.ErrnoException) =>
          reject(
            err.code === 'ENOENT'
              ? missingTool(this.binary, { purpose: 'RUN steps run in it', package: 'runc' })
              : new FailedPreconditionError(`cannot run ${this.binary}: ${err.message}`, { hint: 'install runc (apt-get install runc)' }),
          ),
        );
        child.once('close', (c, s) => resolve([c, s]));
      });
      if (options.signal?.aborted) throw options.signal.reason;
      // runc reports a process killed by a signal as exit status 128 + signal number.
      const exitCode = code ?? 128;
      const killedBy = signal ?? (exitCode > 128 && exitCode < 160 ? signalName(exitCode - 128) : undefined);
      return { exitCode, ...(killedBy ? { signal: killedBy } : {}), tail: tail.toString('utf8') };
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** /etc/hosts (localhost, then the `--add-host` entries, as BuildKit writes it) and /etc/resolv.conf. */
  private async writeEtcFiles(bundle: string, options: ExecOptions): Promise<ContainerMount[]> {
    const extra = (options.extraHosts ?? []).map((h) => `${h.address}\t${h.name}\n`).join('');
    const hosts = `127.0.0.1\tlocalhost ${options.hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n${extra}`;
    const files: Array<[string, string]> = [
      ['hosts', hosts],
      ['resolv.conf', options.network.resolvConf],
    ];
    const mounts: ContainerMount[] = [];
    for (const [name, content] of files) {
      const source = path.join(bundle, name);
      writeFileSync(source, content, { mode: 0o644 });
      mounts.push({ destination: `/etc/${name}`, type: 'bind', source, options: ['bind', 'ro'] });
    }
    return mounts;
  }

  private async remove(id: string, bundle: string, container = true): Promise<void> {
    // Usually `runc run` has deleted it already ("does not exist"); a container that really cannot
    // be deleted is named after this process and found again by the next `reclaimStale`.
    if (container) await run(this.binary, ['--root', this.state, 'delete', '--force', id]).catch(() => undefined);
    await removeSmallTree(bundle);
  }
}

/** The host's hard limit on open files (a container cannot be given more), capped at Docker's 1048576. */
async function maxOpenFiles(): Promise<number> {
  const limits = (await readOwnTextIfExists('/proc/self/limits')) ?? '';
  const hard = Number(/^Max open files\s+\S+\s+(\d+)/m.exec(limits)?.[1]);
  return Number.isFinite(hard) && hard > 0 ? Math.min(hard, 1048576) : 1048576;
}

const SIGNALS: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  6: 'SIGABRT',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
};

function signalName(n: number): string | undefined {
  return SIGNALS[n];
}
